# frozen_string_literal: true

module Piston
  # Every option of Piston, written once. The `piston` flags and their --help, rackup's -O names
  # and `rackup -s piston -h`, the keywords of Piston::Server and Piston.run with their defaults,
  # and the table in README.md are all made from ALL (spec/options_spec.rb checks the README).
  # Plain Ruby without the Java core: `piston` parses its flags before loading it. Frozen once
  # loaded, so any thread may read it.
  module Options
    # A bad value for an option; the message names the option as the user wrote it.
    class InvalidValue < ArgumentError; end

    SIZE_UNITS = { "" => 1, "k" => 1024, "m" => 1024**2, "g" => 1024**3 }.freeze
    REDIS_URL = %r{\A(rediss?://[^/?#]+|redis-socket://.+)}i
    TRANSPORTS = %w[auto io_uring epoll nio].freeze
    # What each kind of value looks like: the placeholder in help and the README, and the words
    # an error message uses for it.
    PLACEHOLDERS = { string: "TEXT", int: "N", threads: "N", size: "SIZE", seconds: "SECONDS", bool: "true|false",
                     log: "FILE", redis_url: "URL", transport: TRANSPORTS.join("|") }.freeze
    EXPECTED = { int: "a whole number", threads: "a number of threads, N or MIN:MAX", size: "a size such as 64k, 10m or 1g",
                 seconds: "a number of seconds", redis_url: "a Redis URL, redis://HOST:PORT[/DB]",
                 transport: "one of #{TRANSPORTS.join(', ')}" }.freeze

    # name: the Piston::Server keyword. kind: how a value is read (#parse). default: what the
    # server uses when the option is not given; nil leaves the feature off or the choice to the
    # Java core, and unset says what that means. env: a variable that replaces the default.
    # flags: the `piston` switches, as OptionParser writes them. rackup: the -O name, or
    # rackup_flag: rackup's own switch for the options rackup has. config: the Java config the
    # value goes to (:server or :upgrade), whose builder setter is the name in camelCase.
    Option = Struct.new(:name, :kind, :default, :unset, :env, :flags, :rackup, :rackup_flag, :config, :help,
                        keyword_init: true) do
      # The value a user gave (a String from a flag or -O, or a Ruby value given to
      # Piston::Server), checked; nil for "off". label: the option as the user wrote it.
      def parse(value, label = name)
        case kind
        when :string then value.to_s
        when :int then Integer(value)
        when :threads then Integer(value.is_a?(String) ? value.split(":").last : value) # Puma's MIN:MAX: the pool is fixed
        when :size then Options.size(value)
        when :seconds then Float(value)
        when :bool then !%w[false no off 0].include?(value.to_s.downcase)
        when :log then log(value)
        when :redis_url then redis_url(value)
        when :transport then TRANSPORTS.find { |t| t == value.to_s.downcase } || raise(ArgumentError)
        end
      rescue ArgumentError, TypeError
        raise InvalidValue, "invalid value for #{label}: #{value.inspect} (#{EXPECTED.fetch(kind)})"
      end

      def default_value
        env ? ENV.fetch(env, default) : default
      end

      def placeholder
        PLACEHOLDERS.fetch(kind)
      end

      # The default as the help and the README show it.
      def shown_default
        text = if default.nil? then unset
               elsif kind == :size then Options.size_text(default)
               elsif kind == :bool then default ? "on" : "off"
               else default.to_s
               end
        env ? "$#{env}, else #{text}" : text
      end

      def help_with_default
        "#{help} (default #{shown_default})"
      end

      def java_setter
        name.to_s.gsub(/_(\w)/) { Regexp.last_match(1).upcase }
      end

      private

      # An access log target: "-" is standard output; rackup passes true for a bare -O AccessLog
      # and its own default, WEBrick's [] (not a file name), when none was given.
      def log(value)
        return nil if value == false || value.is_a?(Array)

        value.nil? || value == true || value.to_s.empty? ? "-" : value.to_s
      end

      def redis_url(value)
        url = value == false ? "" : value.to_s.strip
        return nil if url.empty?
        raise ArgumentError unless url.match?(REDIS_URL)

        url
      end
    end

    ALL = [
      Option.new(name: :host, kind: :string, default: "0.0.0.0", flags: ["-b", "--bind HOST"], rackup_flag: "-o HOST",
                 config: :server, help: "Address to bind"),
      Option.new(name: :port, kind: :int, default: 3000, flags: ["-p", "--port PORT"], rackup_flag: "-p PORT",
                 config: :server, help: "Port to listen on, 0 for any free one; piston takes $PORT when set"),
      Option.new(name: :threads, kind: :threads, default: 5, flags: ["-t", "--threads N"], rackup: "Threads",
                 config: :server, help: "Ruby worker threads; Puma-style MIN:MAX uses MAX"),
      Option.new(name: :environment, kind: :string, default: "development", flags: ["-e", "--environment ENV"],
                 rackup_flag: "-E ENV", config: :server, help: "RACK_ENV"),
      Option.new(name: :io_threads, kind: :int, unset: "one per core", flags: ["--io-threads N"], rackup: "IoThreads",
                 config: :server, help: "Netty IO threads"),
      Option.new(name: :transport, kind: :transport, default: "auto", env: "PISTON_TRANSPORT",
                 flags: ["--transport NAME"], rackup: "Transport", config: :server,
                 help: "IO transport: io_uring or epoll (Linux), nio; auto: epoll where there is one, else nio"),
      Option.new(name: :queue, kind: :int, default: 1024, flags: ["--queue N"], rackup: "Queue",
                 config: :server, help: "Requests waiting for a worker; more get 503"),
      Option.new(name: :max_body, kind: :size, default: 100 * 1024**2, flags: ["--max-body SIZE"], rackup: "MaxBody",
                 config: :server, help: "Largest request body, e.g. 10m; larger gets 413"),
      Option.new(name: :body_memory, kind: :size, default: 1024**2, rackup: "BodyMemory",
                 config: :server, help: "Request body bytes kept in memory; larger bodies go to a temp file"),
      Option.new(name: :max_request_line, kind: :size, default: 8 * 1024, rackup: "MaxRequestLine",
                 config: :server, help: "Longest request line; longer gets 414"),
      Option.new(name: :max_header_size, kind: :size, default: 16 * 1024, rackup: "MaxHeaderSize",
                 config: :server, help: "Largest header block; larger gets 431"),
      Option.new(name: :header_timeout, kind: :seconds, default: 20, flags: ["--header-timeout SECONDS"],
                 rackup: "HeaderTimeout", config: :server, help: "Seconds a client has to send its headers"),
      Option.new(name: :body_timeout, kind: :seconds, default: 20, flags: ["--body-timeout SECONDS"], rackup: "BodyTimeout",
                 config: :server, help: "Seconds a client has to send its body, plus 1 per 16k received; then 408"),
      Option.new(name: :idle_timeout, kind: :seconds, default: 20, flags: ["--idle-timeout SECONDS"], rackup: "IdleTimeout",
                 config: :server, help: "Seconds a keep-alive connection may wait for its next request"),
      Option.new(name: :write_timeout, kind: :seconds, default: 60, rackup: "WriteTimeout",
                 config: :server, help: "Seconds a response write may stall before the connection is cut"),
      Option.new(name: :shutdown_timeout, kind: :seconds, default: 10, flags: ["--shutdown-timeout SECONDS"],
                 rackup: "ShutdownTimeout", config: :server, help: "Seconds requests in flight get to finish at stop"),
      Option.new(name: :pipeline_depth, kind: :int, default: 16, rackup: "PipelineDepth",
                 config: :server, help: "Pipelined requests read ahead per connection"),
      Option.new(name: :access_log, kind: :log, unset: "off", flags: ["--access-log [FILE]"], rackup: "AccessLog",
                 config: :server, help: "Log each request to FILE; - or no FILE: standard output"),
      Option.new(name: :max_message, kind: :size, default: 1024**2, flags: ["--max-message SIZE"], rackup: "MaxMessage",
                 config: :upgrade, help: "Largest incoming WebSocket message, e.g. 4m; larger: close 1009"),
      Option.new(name: :ping_interval, kind: :seconds, default: 40, flags: ["--ping SECONDS"], rackup: "Ping",
                 config: :upgrade, help: "Idle seconds before a WebSocket ping / SSE comment"),
      Option.new(name: :max_outbound_bytes, kind: :size, default: 8 * 1024**2, flags: ["--max-outbound SIZE"],
                 rackup: "MaxOutbound", config: :upgrade,
                 help: "Bytes queued for one WebSocket/SSE client before it is closed as slow"),
      Option.new(name: :max_outbound_messages, kind: :int, default: 16_384, flags: ["--max-outbound-messages N"],
                 rackup: "MaxOutboundMessages", config: :upgrade,
                 help: "Writes queued for one WebSocket/SSE client before it is closed as slow"),
      Option.new(name: :max_inbound_messages, kind: :int, default: 64, rackup: "MaxInboundMessages", config: :upgrade,
                 help: "WebSocket messages waiting for their callback before reading pauses"),
      Option.new(name: :close_timeout, kind: :seconds, default: 5, rackup: "CloseTimeout", config: :upgrade,
                 help: "Seconds to wait for the peer's WebSocket Close"),
      Option.new(name: :deflate, kind: :bool, default: true, flags: ["--[no-]deflate"], rackup: "Deflate",
                 config: :upgrade, help: "WebSocket permessage-deflate when the client offers it"),
      # Not a Java config: Piston::Server starts the Redis engine itself.
      Option.new(name: :redis, kind: :redis_url, unset: "in-process", env: "PISTON_REDIS_URL", flags: ["--redis URL"],
                 rackup: "Redis", help: "Pub/sub through Redis, redis://HOST:PORT[/DB], shared by every process using it")
    ].each(&:freeze).freeze
    BY_NAME = ALL.to_h { |option| [option.name, option] }.freeze

    def self.[](name)
      BY_NAME.fetch(name)
    end

    # Piston::Server's keywords => the value of every option: the given ones checked, the others
    # their defaults. A given nil means "not given" for the Java options and "off" for the others.
    def self.resolve(given)
      unknown = given.keys - BY_NAME.keys
      raise ArgumentError, "unknown option(s): #{unknown.join(', ')}" unless unknown.empty?

      ALL.to_h do |option|
        value = given.fetch(option.name) { option.default_value }
        [option.name, value.nil? ? nil : option.parse(value)]
      end
    end

    # Bytes in "10m", "64k", "1g", "512" (a trailing b is allowed); an Integer is bytes already.
    def self.size(value)
      return Integer(value) if value.is_a?(Integer)

      m = /\A(\d+)([kmg]?)b?\z/i.match(value.to_s.strip) or raise ArgumentError
      Integer(m[1]) * SIZE_UNITS.fetch(m[2].downcase)
    end

    # 104857600 => "100m": the largest unit that divides it.
    def self.size_text(bytes)
      unit, factor = SIZE_UNITS.reverse_each.find { |_, f| bytes >= f && (bytes % f).zero? } || ["", 1]
      "#{bytes / factor}#{unit}"
    end

    # README.md's option table:
    #   ruby -Iruby/lib -rpiston/options -e 'puts Piston::Options.markdown'
    def self.markdown
      rows = ALL.map do |o|
        flags = o.flags ? o.flags.map { |f| "`#{f}`" }.join(", ") : "–"
        rackup = if o.rackup then "`#{o.rackup}=#{o.placeholder}`"
                 elsif o.rackup_flag then "(rackup `#{o.rackup_flag}`)"
                 else "–"
                 end
        [flags, rackup, "`#{o.name}:`", o.shown_default, o.help]
      end
      [["`piston` flag", "`rackup -O`", "`Piston::Server` keyword", "default", "meaning"], %w[--- --- --- --- ---], *rows]
        .map { |cells| "| #{cells.map { |c| c.gsub('|', '\|') }.join(' | ')} |\n" }.join
    end
  end
end
