#pragma once
/// std::allocator with 64-byte (cache-line) aligned storage, for buffers that
/// kernels read in 64-byte vectors: an unaligned 512-bit load touches two
/// lines, which made the batch-innermost conv kernels ~1.5x slower.
#include <cstddef>
#include <new>
#include <vector>

namespace fedhpc {

template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
};

/// A std::vector whose data() is 64-byte aligned.
template <class T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace fedhpc
