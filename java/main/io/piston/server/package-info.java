/**
 * Start and stop: binds the port, owns the IO threads and the worker pool, the settings
 * ({@link io.piston.server.ServerConfig}). Called from the thread that owns the server.
 */
package io.piston.server;
