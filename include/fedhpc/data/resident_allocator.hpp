#pragma once
/// Allocator for the large, long-lived example buffers of a rank. Two
/// differences from std::allocator, both about first touch of ~100s of MB:
/// elements are default-initialised (the loader writes every one, so the
/// zero-fill pass is wasted), and blocks of 2 MiB or more are 2 MiB-aligned
/// and marked for transparent huge pages. On a VM, materialising all of
/// Fashion-MNIST (188 MB of floats) spent 0.5 s in 4 KiB page faults; huge
/// pages also cut TLB misses when training walks the examples every round.
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace fedhpc::data {

/// Allocates `bytes` (huge-page backed when large); throws std::bad_alloc.
void* allocate_resident(std::size_t bytes);
/// Frees a block from allocate_resident.
void free_resident(void* p) noexcept;

/// std::allocator replacement with default-initialisation and huge pages.
template <class T>
struct ResidentAllocator {
  using value_type = T;

  ResidentAllocator() noexcept = default;
  template <class U>
  ResidentAllocator(const ResidentAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(allocate_resident(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t) noexcept { free_resident(p); }

  /// Default-initialises (no zero fill for arithmetic types).
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }

  friend bool operator==(const ResidentAllocator&, const ResidentAllocator&) noexcept {
    return true;
  }
};

/// A vector whose resize() leaves new elements uninitialised.
template <class T>
using ResidentVector = std::vector<T, ResidentAllocator<T>>;

}  // namespace fedhpc::data
