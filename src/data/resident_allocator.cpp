#include "fedhpc/data/resident_allocator.hpp"

#include <sys/mman.h>

#include <cstdlib>

namespace fedhpc::data {
namespace {
constexpr std::size_t kHugePage = std::size_t{2} << 20;
}  // namespace

void* allocate_resident(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  void* p = nullptr;
  if (bytes >= kHugePage) {
    const std::size_t size = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    p = std::aligned_alloc(kHugePage, size);
#ifdef MADV_HUGEPAGE
    // Advisory only: without THP support the block simply stays on 4 KiB pages.
    if (p != nullptr) (void)madvise(p, size, MADV_HUGEPAGE);
#endif
  } else {
    p = std::malloc(bytes);
  }
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void free_resident(void* p) noexcept { std::free(p); }

}  // namespace fedhpc::data
