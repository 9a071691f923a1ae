// Whether this machine can bind ::1 (containers without IPv6 cannot): tests of [::1] skip otherwise.
import net from 'node:net';

export const hasIpv6Loopback = (): Promise<boolean> =>
  new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
