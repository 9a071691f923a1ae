// A loopback TCP proxy the tests can cut: simulates a database connection drop and return.
import net from 'node:net';

export type TcpProxy = { port: number; cut(): void; restore(): void; close(): Promise<void> };

/**
 * Forwards each connection to the target, or round-robin over several ports (a stand-in for the load
 * balancer in front of two instances: no stickiness). A target that refuses is skipped.
 */
export const startTcpProxy = async (targetHost: string, targetPorts: number | number[]): Promise<TcpProxy> => {
  const ports = Array.isArray(targetPorts) ? targetPorts : [targetPorts];
  const sockets = new Set<net.Socket>();
  let down = false;
  let turn = 0;
  const connectUpstream = (client: net.Socket, attempt = 0): net.Socket => {
    const port = ports[turn++ % ports.length]!;
    const upstream = net.connect(port, targetHost);
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      if (
        error.code === 'ECONNREFUSED' &&
        attempt + 1 < ports.length &&
        !client.destroyed &&
        upstream.bytesWritten === 0
      ) {
        // Not yet piped: retry on the next instance.
        sockets.delete(upstream);
        const next = connectUpstream(client, attempt + 1);
        client.unpipe(upstream);
        client.pipe(next).pipe(client);
      }
    });
    sockets.add(upstream);
    return upstream;
  };
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connectUpstream(client);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
};
