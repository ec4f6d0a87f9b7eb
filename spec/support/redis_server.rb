# frozen_string_literal: true

require "io/wait"
require "socket"
require "tmpdir"

# A throwaway redis-server for specs, on a free loopback port, without persistence:
#
#   redis = PistonSpec::RedisServer.start        # waits until it answers PING
#   redis.url                                    # => "redis://127.0.0.1:PORT/0"
#   redis.command("PUBSUB", "NUMSUB", "chat")    # => ["chat", 2]
#   redis.kill                                   # SIGKILL, as a crash would
#   redis.start                                  # again, on the same port
#   redis.stop                                   # SIGKILL and wait; also done at exit
#
# The process runs in its own process group; every one still running when the suite exits is
# killed. Commands go in RESP over a plain socket (a test-side client, a few lines long).
module PistonSpec
  class RedisServer
    BIN = ENV.fetch("REDIS_SERVER", "redis-server")
    START_TIMEOUT = 10

    @running = []
    @lock = Mutex.new
    class << self
      attr_reader :running, :lock
    end

    at_exit { PistonSpec::RedisServer.lock.synchronize { PistonSpec::RedisServer.running.dup }.each(&:stop) }

    def self.start(port: nil)
      new(port || free_port).start
    end

    def self.free_port
      s = TCPServer.new("127.0.0.1", 0)
      s.addr[1]
    ensure
      s&.close
    end

    def self.available?
      system(BIN, "--version", out: File::NULL, err: File::NULL)
    end

    attr_reader :port, :pid

    def initialize(port)
      @port = port
      @pid = nil
    end

    def url(db = 0)
      "redis://127.0.0.1:#{@port}/#{db}"
    end

    def start
      raise "redis-server is already running on #{@port}" if running?

      @log = File.join(Dir.tmpdir, "piston-spec-redis-#{@port}.log")
      @pid = Process.spawn(BIN, "--port", @port.to_s, "--bind", "127.0.0.1", "--daemonize", "no", "--save", "",
                           "--appendonly", "no", "--protected-mode", "no", in: File::NULL, out: @log, err: @log,
                           pgroup: true)
      self.class.lock.synchronize { self.class.running << self }
      deadline = now + START_TIMEOUT
      loop do
        return self if (command("PING") rescue nil) == "PONG"
        raise "redis-server exited at start: #{File.read(@log) rescue '?'}" unless running?
        raise "redis-server did not answer on #{@port} within #{START_TIMEOUT}s" if now > deadline

        sleep 0.05
      end
    end

    def running?
      return false if @pid.nil?

      pid, = Process.waitpid2(@pid, Process::WNOHANG)
      if pid
        @pid = nil
        return false
      end
      true
    rescue Errno::ECHILD
      @pid = nil
      false
    end

    # SIGKILL (no goodbye to the clients, like a crash) and wait for the exit.
    def kill
      return unless running?

      pid = @pid
      begin
        Process.kill("KILL", -pid)
      rescue Errno::ESRCH, Errno::EPERM
        Process.kill("KILL", pid) rescue nil
      end
      Process.waitpid(pid) rescue nil
      @pid = nil
      self.class.lock.synchronize { self.class.running.delete(self) }
    end

    alias stop kill

    # One command; the reply as Ruby values (status and bulk strings, integers, arrays).
    def command(*args, timeout: 2)
      Socket.tcp("127.0.0.1", @port, connect_timeout: timeout) do |s|
        s.write("*#{args.size}\r\n" + args.map { |a| a = a.to_s.b; "$#{a.bytesize}\r\n#{a}\r\n" }.join)
        read_reply(s, timeout)
      end
    end

    # PUBSUB NUMSUB for one channel.
    def subscribers(channel)
      command("PUBSUB", "NUMSUB", channel)[1].to_i
    end

    # Waits until Redis counts n subscribers of channel (or n patterns with pattern: true).
    def wait_for_subscribers(channel, n, timeout: 20)
      deadline = now + timeout
      loop do
        count = (channel ? subscribers(channel) : command("PUBSUB", "NUMPAT")) rescue -1
        return count if count == n
        raise "Redis has #{count} subscriber(s) of #{channel || 'patterns'}, not #{n}, after #{timeout}s" if now > deadline

        sleep 0.05
      end
    end

    private

    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    def read_reply(s, timeout)
      line = read_line(s, timeout)
      case line[0]
      when "+" then line[1..]
      when "-" then raise "Redis: #{line[1..]}"
      when ":" then line[1..].to_i
      when "$"
        n = line[1..].to_i
        return nil if n.negative?

        data = +""
        data << s.read(n + 2 - data.bytesize) while data.bytesize < n + 2
        data[0, n]
      when "*"
        Array.new(line[1..].to_i) { read_reply(s, timeout) }
      else raise "unexpected Redis reply #{line.inspect}"
      end
    end

    def read_line(s, timeout)
      line = +""
      until line.end_with?("\r\n")
        raise "no reply from Redis within #{timeout}s" unless s.wait_readable(timeout)

        c = s.read(1) or raise "Redis closed the connection"
        line << c
      end
      line.chomp("\r\n")
    end
  end
end
