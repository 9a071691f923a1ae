// How close the process is to its open-file limit (RLIMIT_NOFILE), read from /proc on Linux. Every
// socket is a descriptor: at the limit, accept() and open() fail and every new request with them.
import fs from 'node:fs/promises';

export type DescriptorUse = { open: number; limit: number };

/**
 * Open descriptors and the soft limit; 'exhausted' when not even /proc can be opened for want of one;
 * undefined where /proc is not there to tell.
 */
export const descriptorUse = async (): Promise<DescriptorUse | 'exhausted' | undefined> => {
  try {
    const [entries, limits] = await Promise.all([
      fs.readdir('/proc/self/fd'),
      fs.readFile('/proc/self/limits', 'utf8'),
    ]);
    const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
    if (!soft || soft === 'unlimited') return undefined;
    return { open: entries.length, limit: Number(soft) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? 'exhausted' : undefined;
  }
};
