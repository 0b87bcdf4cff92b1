/**
 * Creates what a NATS pool needs on the server, the first time either end
 * connects: the work-queue stream (callers and workers both ensure it, so
 * a caller can queue work before any worker exists) and the durable pull
 * consumer that every worker shares (workers ensure it). Only server 2.9
 * features are used.
 *
 * @module
 */

import { AckPolicy, type JetStreamManager, RetentionPolicy, StorageType } from "./_nats_client.ts";
import type { PoolNames } from "./_nats_wire.ts";

/** Creates the pool's stream unless it exists. */
export async function ensureStream(jsm: JetStreamManager, names: PoolNames): Promise<void> {
  try {
    await jsm.streams.add({
      name: names.stream,
      subjects: [names.workSubjects],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
    });
  } catch (error) {
    // Created by someone else, maybe with other limits: use it as it is.
    try {
      await jsm.streams.info(names.stream);
    } catch {
      throw error;
    }
  }
}

/** How the consumer redelivers. */
export interface ConsumerSettings {
  /** Milliseconds without an ack or a heartbeat after which a chunk is delivered again. */
  readonly ackWait: number;
  /** Deliveries of a chunk before the server gives up on it (-1: never). */
  readonly maxDeliveries: number;
}

/** Chunks delivered and not yet acked, over every worker: each worker bounds its own share. */
const MAX_ACK_PENDING = 65_536;
/** Pull requests waiting at once, over every worker. */
const MAX_WAITING = 4_096;

/**
 * Creates the shared consumer with `wanted` settings, or updates an
 * existing one whose settings differ from those given explicitly in
 * `wanted` (the last worker started with explicit flags wins); returns the
 * settings in force.
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  names: PoolNames,
  wanted: { readonly ackWait?: number | undefined; readonly maxDeliveries?: number | undefined },
  defaults: ConsumerSettings,
): Promise<ConsumerSettings> {
  const ackWait = wanted.ackWait ?? defaults.ackWait;
  const maxDeliveries = wanted.maxDeliveries ?? defaults.maxDeliveries;
  const existing = await jsm.consumers.info(names.stream, names.consumer).catch(() => undefined);
  if (existing === undefined) {
    try {
      const created = await jsm.consumers.add(names.stream, {
        durable_name: names.consumer,
        ack_policy: AckPolicy.Explicit,
        ack_wait: ackWait * 1e6,
        max_deliver: maxDeliveries,
        max_ack_pending: MAX_ACK_PENDING,
        max_waiting: MAX_WAITING,
      });
      return settingsOf(created.config);
    } catch (error) {
      // Another worker created it in between.
      const raced = await jsm.consumers.info(names.stream, names.consumer).catch(() => undefined);
      if (raced === undefined) throw error;
      return settingsOf(raced.config);
    }
  }
  const current = settingsOf(existing.config);
  const differs = (wanted.ackWait !== undefined && wanted.ackWait !== current.ackWait) ||
    (wanted.maxDeliveries !== undefined && wanted.maxDeliveries !== current.maxDeliveries);
  if (!differs) return current;
  const updated = await jsm.consumers.update(names.stream, names.consumer, {
    ack_wait: ackWait * 1e6,
    max_deliver: maxDeliveries,
  });
  return settingsOf(updated.config);
}

function settingsOf(config: { ack_wait?: number; max_deliver?: number }): ConsumerSettings {
  return { ackWait: (config.ack_wait ?? 30e9) / 1e6, maxDeliveries: config.max_deliver ?? -1 };
}
