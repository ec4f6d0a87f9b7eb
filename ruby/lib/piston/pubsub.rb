# frozen_string_literal: true

module Piston
  # The engine that carries publishes between processes: in-process by default, or Redis.
  #
  #   Piston.pubsub_engine = "redis://127.0.0.1:6379/0"  # every process sharing that Redis
  #   Piston.pubsub_engine = :local                      # back to in-process
  #   Piston.pubsub_engine.describe                       # => "Redis redis://127.0.0.1:6379/0"
  #
  # Piston::Server.new(app, redis: URL), `piston --redis URL` and PISTON_REDIS_URL set it for the
  # time a server runs. Setting it closes the previous engine; subscriptions carry over.
  def self.pubsub_engine
    Java::IoPistonPubsub::PubSubBroker.get.engine
  end

  def self.pubsub_engine=(engine)
    broker = Java::IoPistonPubsub::PubSubBroker.get
    broker.engine(pubsub_engine_for(engine))
  end

  # An engine for a setting: nil, false or :local (in-process), a redis:// URL, or a Java
  # io.piston.pubsub.PubSubEngine.
  def self.pubsub_engine_for(engine)
    broker = Java::IoPistonPubsub::PubSubBroker.get
    case engine
    when nil, false, :local, "local"
      Java::IoPistonPubsub::LocalEngine.new(broker)
    when String, Symbol
      # RedisEngine parses the URL (a bad one is an IllegalArgumentException): Piston::Server's
      # redis: was checked already, by its option (Piston::Options).
      require_redis_client
      begin
        Java::IoPistonPubsubRedis::RedisEngine.start(broker, engine.to_s)
      rescue Java::JavaLang::IllegalArgumentException => e
        raise ArgumentError, e.message
      end
    when Java::IoPistonPubsub::PubSubEngine
      engine
    else
      raise ArgumentError, "pub/sub engine must be :local, a redis:// URL or a PubSubEngine, not #{engine.inspect}"
    end
  end

  # Loads the Redis client (Lettuce, Reactor: half of Piston's Java code) the first time a Redis
  # engine starts, so that a server without Redis does not carry it. Before RedisEngine is
  # touched: its classes refer to the client's.
  def self.require_redis_client
    jar = File.join(JAR_DIR, "piston_redis.jar")
    raise LoadError, "Piston's Redis client is missing from #{JAR_DIR}: build it with `mvn package`" unless File.file?(jar)

    require jar
  end
  private_class_method :require_redis_client
end
