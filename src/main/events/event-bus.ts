import { EventEmitter } from 'node:events';
import type { EventName, EventPayload } from '../../shared/contract';

/** Typed publish/subscribe for the contract's events; every transport forwards from here. */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every open twin page and IPC window subscribes; many listeners are expected.
    this.emitter.setMaxListeners(0);
  }

  emit<E extends EventName>(name: E, payload: EventPayload<E>): void {
    this.emitter.emit(name, payload);
    this.emitter.emit('*', name, payload);
  }

  on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  /** Every event, for transports that forward all of them. */
  onAny(listener: (name: EventName, payload: unknown) => void): () => void {
    this.emitter.on('*', listener);
    return () => this.emitter.off('*', listener);
  }
}
