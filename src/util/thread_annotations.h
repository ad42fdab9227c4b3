// Locking contracts the compiler checks: Clang's thread-safety analysis (-Wthread-safety).
//
// Members say which mutex guards them (GUARDED_BY), functions say which mutex they need held
// (REQUIRES) or must not hold (EXCLUDES). Under GCC the macros expand to nothing, so they are
// documentation there and checked only by a Clang build (clang-tidy runs Clang's front end too).
//
// libstdc++'s std::mutex carries no annotations, so guarded state uses kiln::Mutex and
// kiln::MutexLock below (the pattern of leveldb's port/thread_annotations.h and port::Mutex).
// To wait, use std::condition_variable_any on the Mutex itself, from a function that holds it:
//   cv_.wait(mu_, [&]() REQUIRES(mu_) { return !queue_.empty(); });
// The wait releases and retakes the Mutex; the analysis sees it held before and after.
#pragma once

#include <mutex>

#if defined(__clang__)
#define KILN_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define KILN_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) KILN_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY KILN_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) KILN_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) KILN_THREAD_ANNOTATION(pt_guarded_by(x))
#define REQUIRES(...) KILN_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) KILN_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) KILN_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) KILN_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) KILN_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) KILN_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) KILN_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS KILN_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace kiln {

// A std::mutex the analysis knows about. Not recursive; lock() blocks, try_lock() does not.
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // For documenting (and, under Clang, telling the analysis) that the caller holds it.
  void assert_held() const ASSERT_CAPABILITY(this) {}

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope, as std::lock_guard does.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace kiln
