package io.piston.pubsub.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.piston.log.Log;
import io.piston.pubsub.PubSubBroker;
import io.piston.pubsub.PubSubEngine;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Pub/sub through a Redis server, so that a publish in one process reaches the subscribers of
 * every process that shares it (patterns through PSUBSCRIBE). Two connections (Lettuce): one in
 * subscriber mode that holds a SUBSCRIBE for each channel and a PSUBSCRIBE for each pattern this
 * process has subscribers to, and one that sends PUBLISH.
 *
 * <p>Each message is delivered once per subscriber: while Redis is reachable a publish goes to
 * Redis only, and this process's subscribers get it when Redis sends it back, like everyone
 * else's. Every process therefore sees the messages of a channel in the one order Redis gave
 * them, and a process's own publishes stay in the order it made them (one connection sends them).
 * A subscription is in place in Redis one round trip after subscribe returns.
 *
 * <p>While Redis is unreachable (at startup, or when it goes away) publishes are delivered in
 * this process only, nothing is queued for later, and HTTP, WebSockets and SSE go on. Lettuce
 * reconnects by itself (100 ms, doubling, at most every 5 s) and restores the subscriptions; an
 * address that cannot be reached at startup is retried every 2 s. Each change is one log line.
 *
 * <p>Messages in Redis are the bytes published, nothing added, so other Redis clients can publish
 * to Piston's subscribers and read what Piston publishes. What comes from Redis goes out as a
 * text frame when it is valid UTF-8, else as a binary frame. Redis's threads never run Ruby:
 * block subscriptions get their messages through their callback queue, on the worker pool.
 */
public final class RedisEngine implements PubSubEngine {
    static {
        // Lettuce logs through SLF4J: without a binding in the app, SLF4J would print a notice.
        if (System.getProperty("slf4j.internal.verbosity") == null) System.setProperty("slf4j.internal.verbosity", "ERROR");
    }

    private static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);
    private static final long RETRY_SECONDS = 2;
    /**
     * Lettuce logs each reconnect attempt (INFO) and failure (WARNING) through java.util.logging
     * unless the app has SLF4J: Piston logs the state changes itself, one line each.
     */
    private static final Logger LETTUCE_LOG = Logger.getLogger("io.lettuce.core");
    private static final Logger WATCHDOG_LOG = Logger.getLogger("io.lettuce.core.protocol.ConnectionWatchdog");
    private static final AtomicInteger ENGINES = new AtomicInteger();

    private final PubSubBroker broker;
    private final RedisURI uri;
    private final String display;
    private final ClientResources resources;
    private final RedisClient subClient;
    private final RedisClient pubClient;
    private final ScheduledExecutorService connector;
    /** Guards the wanted sets and the order of (P)SUBSCRIBE / (P)UNSUBSCRIBE commands. */
    private final Object lock = new Object();
    private final Set<String> channels = new LinkedHashSet<>();
    private final Set<String> patterns = new LinkedHashSet<>();
    private volatile StatefulRedisPubSubConnection<String, byte[]> sub;
    private volatile StatefulRedisConnection<String, byte[]> pub;
    private volatile boolean closed;
    /** True while Piston says Redis is unreachable (so each change is logged once). */
    private final AtomicBoolean down = new AtomicBoolean();
    private final AtomicBoolean publishFailureLogged = new AtomicBoolean();

    private RedisEngine(PubSubBroker broker, RedisURI uri) {
        this.broker = broker;
        this.uri = uri;
        this.display = display(uri);
        int n = ENGINES.incrementAndGet();
        if (LETTUCE_LOG.getLevel() == null) LETTUCE_LOG.setLevel(Level.WARNING);
        if (WATCHDOG_LOG.getLevel() == null) WATCHDOG_LOG.setLevel(Level.SEVERE);
        this.resources = DefaultClientResources.builder()
                .ioThreadPoolSize(2)
                .computationThreadPoolSize(1)
                .reconnectDelay(Delay.exponential(Duration.ofMillis(100), Duration.ofSeconds(5), 2, TimeUnit.MILLISECONDS))
                .build();
        SocketOptions socket = SocketOptions.builder().connectTimeout(Duration.ofSeconds(5)).keepAlive(true).build();
        this.subClient = RedisClient.create(resources, uri);
        // Subscriber connection: (un)subscribes made while disconnected wait for the reconnect.
        subClient.setOptions(ClientOptions.builder().autoReconnect(true).socketOptions(socket)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.ACCEPT_COMMANDS).build());
        this.pubClient = RedisClient.create(resources, uri);
        // Publisher connection: while disconnected a publish fails at once (and is delivered in
        // this process), and one in flight when the connection broke is not sent again later.
        pubClient.setOptions(ClientOptions.builder().autoReconnect(true).socketOptions(socket)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .replayFilter(command -> true).build());
        subClient.addListener(new StateListener());
        this.connector = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "piston-redis-connect-" + n);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * An engine for {@code url} (redis://[:password@]host[:port][/db], rediss://...). Returns at
     * once: the connection is made in the background. A malformed URL is an IllegalArgumentException.
     */
    public static RedisEngine start(PubSubBroker broker, String url) {
        RedisURI uri;
        try {
            uri = RedisURI.create(url);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a Redis URL (redis://HOST:PORT[/DB]): " + url, e);
        }
        RedisEngine engine = new RedisEngine(broker, uri);
        engine.connector.execute(engine::connect);
        return engine;
    }

    /** True once both connections are up (and not closed since). */
    public boolean isConnected() {
        var s = sub;
        var p = pub;
        return s != null && s.isOpen() && p != null && p.isOpen();
    }

    @Override
    public void subscribed(String channel, boolean pattern) {
        synchronized (lock) {
            if (!(pattern ? patterns : channels).add(channel)) return;
            var s = sub;
            if (s == null || closed) return;
            if (pattern) s.async().psubscribe(channel);
            else s.async().subscribe(channel);
        }
    }

    @Override
    public void unsubscribed(String channel, boolean pattern) {
        synchronized (lock) {
            if (!(pattern ? patterns : channels).remove(channel)) return;
            var s = sub;
            if (s == null || closed) return;
            if (pattern) s.async().punsubscribe(channel);
            else s.async().unsubscribe(channel);
        }
    }

    @Override
    public void publish(String channel, byte[] message, boolean binary) {
        var p = pub;
        var s = sub;
        boolean toRedis = p != null && p.isOpen() && !closed;
        // Redis sends it back to this process only while the subscriber connection is up.
        boolean comesBack = toRedis && s != null && s.isOpen();
        if (toRedis) {
            p.async().publish(channel, message).whenComplete((receivers, error) -> {
                if (error == null) {
                    publishFailureLogged.set(false);
                    return;
                }
                if (publishFailureLogged.compareAndSet(false, true)) {
                    Log.warn("pub/sub: a publish to Redis at " + display + " failed (" + error.getMessage()
                            + "); delivering in this process only");
                }
                if (comesBack) broker.deliver(channel, message, binary);
            });
        }
        if (!comesBack) broker.deliver(channel, message, binary);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        connector.shutdownNow();
        sub = null;
        pub = null;
        // Closing waits for Lettuce's threads: done in the background, bounded, so a server stop
        // never waits on Redis. Shutting a client down closes its connections.
        Thread t = new Thread(() -> {
            try {
                subClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
                pubClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
                resources.shutdown(0, 2, TimeUnit.SECONDS).get(3, TimeUnit.SECONDS);
            } catch (Exception e) {
                Log.warn("pub/sub: closing the Redis connection to " + display + ": " + e);
            }
        }, "piston-redis-close");
        t.setDaemon(true);
        t.start();
        Log.info("pub/sub: stopped using Redis at " + display);
    }

    @Override
    public String describe() {
        return "Redis " + display;
    }

    // ---- internals --------------------------------------------------------------------------------

    /** Connector thread: the first connection, retried until it works (or the engine is closed). */
    private void connect() {
        if (closed) return;
        StatefulRedisPubSubConnection<String, byte[]> s = null;
        StatefulRedisConnection<String, byte[]> p = null;
        try {
            s = subClient.connectPubSub(CODEC);
            s.addListener(new Listener());
            p = pubClient.connect(CODEC);
        } catch (RuntimeException | LinkageError e) {
            if (s != null) s.closeAsync();
            if (closed) return;
            if (down.compareAndSet(false, true)) {
                Log.warn("pub/sub: Redis at " + display + " is unreachable (" + rootMessage(e)
                        + "); publishes reach this process only; retrying every " + RETRY_SECONDS + "s");
            }
            connector.schedule(this::connect, RETRY_SECONDS, TimeUnit.SECONDS);
            return;
        }
        synchronized (lock) {
            if (closed) {
                s.closeAsync();
                p.closeAsync();
                return;
            }
            sub = s;
            pub = p;
            if (!channels.isEmpty()) s.async().subscribe(channels.toArray(new String[0]));
            if (!patterns.isEmpty()) s.async().psubscribe(patterns.toArray(new String[0]));
        }
        down.set(false);
        Log.info("pub/sub: connected to Redis at " + display);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m;
    }

    /** host:port/db, without a password. */
    static String display(RedisURI uri) {
        String host = uri.getHost();
        if (uri.getSocket() != null) host = uri.getSocket();
        else if (host != null && host.contains(":")) host = "[" + host + "]";
        return (uri.isSsl() ? "rediss://" : "redis://") + host + (uri.getSocket() != null ? "" : ":" + uri.getPort())
                + "/" + uri.getDatabase();
    }

    /** True when {@code data} is well-formed UTF-8 (what goes out as a text frame). */
    static boolean isUtf8(byte[] data) {
        return ByteBufUtil.isText(Unpooled.wrappedBuffer(data), StandardCharsets.UTF_8);
    }

    /** Lettuce's IO thread: what Redis sends. Hands over to the broker, which never runs Ruby here. */
    private final class Listener extends RedisPubSubAdapter<String, byte[]> {
        @Override
        public void message(String channel, byte[] message) {
            broker.deliverChannel(channel, message, !isUtf8(message));
        }

        @Override
        public void message(String pattern, String channel, byte[] message) {
            broker.deliverPattern(pattern, channel, message, !isUtf8(message));
        }
    }

    /** Lettuce's threads: the subscriber connection went away or came back. */
    private final class StateListener implements RedisConnectionStateListener {
        @Override
        public void onRedisDisconnected(RedisChannelHandler<?, ?> connection) {
            if (closed || sub == null) return; // closed by Piston, or a first attempt that failed
            if (down.compareAndSet(false, true)) {
                Log.warn("pub/sub: lost the connection to Redis at " + display
                        + "; publishes reach this process only until it is back; reconnecting");
            }
        }

        @Override
        public void onRedisConnected(RedisChannelHandler<?, ?> connection, SocketAddress address) {
            if (closed || sub == null) return; // the first connection: connect() logs it
            if (down.compareAndSet(true, false)) {
                Log.info("pub/sub: reconnected to Redis at " + display + "; subscriptions restored");
            }
        }
    }
}
