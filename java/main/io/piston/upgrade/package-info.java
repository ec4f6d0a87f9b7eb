/**
 * WebSocket and SSE on Netty after the HTTP handshake: one {@link
 * io.piston.upgrade.UpgradedConnection} per client (state, callbacks, idle timer, subscriptions,
 * inbound flow control) on top of its {@link io.piston.upgrade.Outbox} (queue, framing, bounds),
 * the protocols' framing, and the ordered callbacks to an {@link io.piston.upgrade.UpgradeHandler}
 * on the worker pool. Netty methods on the IO thread, callbacks on workers. Knows nothing of Ruby.
 */
package io.piston.upgrade;
