/**
 * The NATS client, in one place: the pinned packages of the official
 * `nats.js` client (core over TCP, JetStream, Object Store) and how both
 * ends of a NATS pool connect with the options users give (servers,
 * token, user and password, or a credentials file). Nothing under `mod.ts`
 * imports this module, so the core package never loads the client.
 *
 * @module
 */

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  type ConnectionOptions,
  credsAuthenticator,
  type NatsConnection,
} from "npm:@nats-io/transport-node@3.4.0";
import {
  nodeResolveHost,
  NodeTransport,
} from "npm:@nats-io/transport-node@3.4.0/lib/node_transport.js";
import { NatsConnectionImpl, setTransportFactory } from "npm:@nats-io/nats-core@3.4.0/internal";

export {
  type Msg,
  type NatsConnection,
  nuid,
  type Subscription,
} from "npm:@nats-io/transport-node@3.4.0";
export {
  AckPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "npm:@nats-io/jetstream@3.4.0";
export { type ObjectStore, Objm } from "npm:@nats-io/obj@3.4.0";

/** How to reach and log in to a NATS server (already checked). */
export interface ConnectSettings {
  readonly servers: readonly string[];
  readonly token?: string | undefined;
  readonly user?: string | undefined;
  readonly pass?: string | undefined;
  /** Path of a `.creds` file (a user JWT and its NKey seed). */
  readonly credentials?: string | undefined;
  /** Shown by the server's monitoring pages. */
  readonly name?: string | undefined;
  /** Milliseconds between the client's pings: a silent dead link is noticed within about twice this. */
  readonly pingInterval?: number | undefined;
  /** Reconnect attempts per server before giving up; -1: never give up. */
  readonly maxReconnectAttempts?: number | undefined;
}

/**
 * Connects with `settings`.
 *
 * @throws {Error} naming the servers (and the credentials file, when it is
 * the problem) when no connection can be made.
 */
export async function openConnection(settings: ConnectSettings): Promise<NatsConnection> {
  const options: ConnectionOptions = {
    servers: [...settings.servers],
    name: settings.name,
    pingInterval: settings.pingInterval ?? 10_000,
    maxPingOut: 2,
    maxReconnectAttempts: settings.maxReconnectAttempts ?? 10,
    reconnectTimeWait: 1_000,
  };
  if (settings.token !== undefined) options.token = settings.token;
  if (settings.user !== undefined) options.user = settings.user;
  if (settings.pass !== undefined) options.pass = settings.pass;
  if (settings.credentials !== undefined) {
    let creds: Uint8Array;
    try {
      creds = await Deno.readFile(settings.credentials);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Cannot read the NATS credentials file ${settings.credentials}: ${reason}`, {
        cause: error,
      });
    }
    options.authenticator = credsAuthenticator(creds);
  }
  try {
    return await connect(options);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot connect to NATS server ${settings.servers.join(", ")}: ${reason}`, {
      cause: error,
    });
  }
}

/**
 * The client's Node transport, except that its sockets always keep an
 * `error` listener. The original removes every listener at some steps of
 * connecting and closing; a reset arriving then (a server refusing a login
 * closes at once) became an uncaught `ECONNRESET` that ended the whole
 * program (8% of refused logins on Deno 2.9). The transport still learns
 * of the error from the socket's `close` event.
 */
class GuardedTransport extends NodeTransport {
  override async dial(hp: { hostname: string; port: number }): Promise<Socket> {
    return guard(await super.dial(hp));
  }

  override async startTLS(): Promise<TLSSocket> {
    return guard(await super.startTLS());
  }

  override async tlsFirst(hp: { hostname: string; port: number }): Promise<TLSSocket> {
    return guard(await super.tlsFirst(hp));
  }
}

function ignore(): void {}

function guard<S extends Socket>(socket: S): S {
  socket.on("error", ignore);
  const removeAll = socket.removeAllListeners.bind(socket);
  socket.removeAllListeners = (event?: string | symbol) => {
    // Node counts the arguments: removeAllListeners(undefined) removes nothing.
    if (event === undefined) removeAll();
    else removeAll(event);
    if (event === undefined || event === "error") socket.on("error", ignore);
    return socket;
  };
  return socket;
}

/** What `connect()` of `@nats-io/transport-node` does, with {@linkcode GuardedTransport}. */
function connect(options: ConnectionOptions): Promise<NatsConnection> {
  setTransportFactory({ factory: () => new GuardedTransport(), dnsResolveFn: nodeResolveHost });
  return NatsConnectionImpl.connect(options);
}
