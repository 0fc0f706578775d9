/**
 * A TCP proxy in front of a real service, so a test can make the service "go away" for one
 * client without touching the server that other tests use: `cut()` drops every connection and
 * refuses new ones, `restore()` listens again on the same port.
 *
 * @example
 * const proxy = await TcpProxy.open(5672)
 * const broker = await openRabbitMqBroker({ url: `amqp://127.0.0.1:${proxy.port}` })
 * await proxy.cut(); ...; await proxy.restore()
 */
import net from 'node:net';

export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly targetPort: number,
    public port: number,
  ) {}

  static async open(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort, 0);
    await proxy.restore();
    return proxy;
  }

  /** Listens (again) on the proxy's port and forwards each connection to the target. */
  async restore(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Drops every open connection and stops listening: clients see the service gone. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  close(): Promise<void> {
    return this.cut();
  }
}
