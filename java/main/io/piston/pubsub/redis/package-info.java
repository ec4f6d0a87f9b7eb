/**
 * The Redis engine: the only code that uses Lettuce (and Reactor). Lettuce's threads deliver
 * to the broker.
 */
package io.piston.pubsub.redis;
