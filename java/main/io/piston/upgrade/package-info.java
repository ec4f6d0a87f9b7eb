/**
 * WebSocket and SSE on Netty after the HTTP handshake: one {@link
 * io.piston.upgrade.UpgradedConnection} per client (state, outbox, bounds, idle timer), the
 * protocols' framing, and the ordered callbacks to an {@link io.piston.upgrade.UpgradeHandler} on
 * the worker pool. Netty methods on the IO thread, callbacks on workers. Knows nothing of Ruby.
 */
package io.piston.upgrade;
