/**
 * Publish/subscribe: the process's {@link io.piston.pubsub.PubSubBroker}, the engine that
 * carries publishes between processes, and the {@link io.piston.pubsub.Subscriber} interface
 * through which direct deliveries reach connections (the upgrade package implements it). Any
 * thread; knows neither HTTP nor the protocols nor Ruby.
 */
package io.piston.pubsub;
