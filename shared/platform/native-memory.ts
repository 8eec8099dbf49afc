// Gives the memory native code has freed back to the system. glibc's malloc keeps freed chunks in
// its arenas and returns on its own only the free space at the top of each one; a hole under a
// live allocation stays resident until malloc_trim(0) releases its pages. Node has no binding for
// it, so it is called through koffi's FFI. On a libc without malloc_trim (musl, macOS) there is
// nothing to call and releasing does nothing.
import koffi from "koffi";

function load(): (() => void) | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const mallocTrim = koffi.load("libc.so.6").func("int malloc_trim(size_t pad)");
    return () => mallocTrim(0);
  } catch {
    return undefined;
  }
}

const release = load();

/** Whether this process can give freed native memory back (glibc). */
export const canReleaseFreedNative = release !== undefined;

/** Returns to the system the pages malloc holds free; a no-op where there is no malloc_trim. */
export function releaseFreedNative(): void {
  release?.();
}
