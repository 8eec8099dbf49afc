// A cross-process lock made of a directory (mkdir is atomic) holding the owner's pid.
// Plain JavaScript so that the bootstrap, which runs on whatever Node the machine has, can use it too.
import fs from "node:fs";
import path from "node:path";

function ownerAlive(dir) {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, "pid"), "utf8"));
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means the process exists but belongs to someone else.
    return error?.code === "EPERM";
  }
}

/**
 * Takes the lock at `dir`, waiting while another live process holds it. A lock left by a dead
 * process is taken over. Returns the function that releases it.
 * @param {string} dir
 * @param {{ what?: string, onWait?: (line: string) => void }} [options]
 * @returns {Promise<() => void>}
 */
export async function acquireLock(dir, { what = "lock", onWait = () => {} } = {}) {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, "pid"), String(process.pid));
      return () => fs.rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      if (error?.code !== "EEXIST") throw error;
    }
    // A holder that has just made the directory may not have written its pid yet: give it a moment.
    const age = Date.now() - fs.statSync(dir, { throwIfNoEntry: false })?.mtimeMs;
    if (!ownerAlive(dir) && age > 2000) {
      fs.rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (!announced) {
      onWait(`waiting for another process holding the ${what} (${dir})`);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
