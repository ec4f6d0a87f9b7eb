# frozen_string_literal: true

module Piston
  # Reads a config.ru when the rack gem is not installed: understands `run`, `use`, `map` and
  # `warmup`, which is all the article's examples (and most config.ru files) need.
  class Builder
    def self.parse_file(path)
      require "piston/config_file"
      ConfigFile.evaluate(path, self).to_app
    end

    def initialize(&block)
      @middleware = []
      @run = nil
      @map = nil
      @warmup = nil
      instance_eval(&block) if block
    end

    def use(middleware, *args, **kwargs, &block)
      @middleware << ->(app) { middleware.new(app, *args, **kwargs, &block) }
    end

    def run(app = nil, &block)
      @run = app || block
      raise ArgumentError, "run needs an app or a block" unless @run
    end

    def map(path, &block)
      (@map ||= {})[path] = self.class.new(&block).to_app
    end

    def warmup(callable = nil, &block)
      @warmup = callable || block
    end

    def to_app
      app = @map ? URLMap.new(@run ? { "/" => @run }.merge(@map) : @map) : @run
      raise ArgumentError, "config.ru has neither `run` nor `map`" unless app

      app = @middleware.reverse.inject(app) { |inner, wrap| wrap.call(inner) }
      @warmup&.call(app)
      app
    end

    # Sends a request to the app mounted at the longest matching path prefix, moving that prefix
    # from PATH_INFO to SCRIPT_NAME as Rack::URLMap does.
    class URLMap
      NOT_FOUND = [404, { "content-type" => "text/plain" }, ["Not Found"]].freeze

      def initialize(mapping)
        @mapping = mapping.map { |path, app| [path.chomp("/"), app] }.sort_by { |path, _| -path.size }
      end

      def call(env)
        path = env["PATH_INFO"].to_s
        script_name = env["SCRIPT_NAME"].to_s
        @mapping.each do |prefix, app|
          next unless path == prefix || path.start_with?("#{prefix}/") || prefix.empty?

          rest = path[prefix.size..]
          return app.call(env.merge("SCRIPT_NAME" => script_name + prefix, "PATH_INFO" => rest))
        end
        NOT_FOUND
      end
    end
  end
end
