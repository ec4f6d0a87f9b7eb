/**
 * HTTP/1.1 on Netty: the pipeline ({@link io.piston.http.HttpServerInitializer}), request limits
 * and timers, the exchange a worker answers through, and the ways a connection leaves HTTP
 * (hijack, socket bridge, upgrade). Runs on IO threads (piston-io-N) except where a class says
 * otherwise; hands each complete request to an {@link io.piston.http.Application} on a worker.
 * Knows nothing of Ruby.
 */
package io.piston.http;
