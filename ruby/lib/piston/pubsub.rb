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
      url = engine.to_s
      unless url.match?(%r{\Arediss?://[^/?#]+}i) || url.match?(%r{\Aredis-socket://}i)
        raise ArgumentError, "not a Redis URL (redis://HOST:PORT[/DB]): #{url.inspect}"
      end

      begin
        Java::IoPistonPubsubRedis::RedisEngine.start(broker, url)
      rescue Java::JavaLang::IllegalArgumentException => e
        raise ArgumentError, e.message
      end
    when Java::IoPistonPubsub::PubSubEngine
      engine
    else
      raise ArgumentError, "pub/sub engine must be :local, a redis:// URL or a PubSubEngine, not #{engine.inspect}"
    end
  end
end
