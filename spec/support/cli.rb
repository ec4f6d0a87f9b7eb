# frozen_string_literal: true

require "fileutils"
require "tmpdir"

# Runs `bin/piston` as a child process for CLI specs:
#
#   piston = start_piston("spec/fixtures/hello.ru", args: ["-t", "8"])  # waits for "Listening on"
#   RawHttp.get(piston.host, piston.port, "/")
#   status = piston.stop                # SIGTERM, then SIGKILL after a grace period
#   expect(piston.output).to include("Goodbye")
#
# The config may be a path or config.ru source (written to a temporary file). The child runs
# in its own process group, and everything in that group is killed when the example (or, from
# before(:all), the group) ends, and failing that when the suite exits: no process is left
# behind. The child inherits the environment (GEM_PATH, RUBYLIB, ...) plus env:.
module PistonSpec
  class Cli
    ROOT = File.expand_path("../..", __dir__)
    BIN = File.join(ROOT, "bin", "piston")
    LISTENING = %r{Listening on http://([\d.]+):(\d+)}
    START_TIMEOUT = 60
    STOP_TIMEOUT = 20

    @running = []
    @running_lock = Mutex.new
    class << self
      attr_reader :running, :running_lock
    end

    at_exit { PistonSpec::Cli.kill_all }

    # Starts bin/piston -b HOST -p 0 ARGS CONFIG and waits for its "Listening on" line.
    # command: replaces the whole command line (an Array), for testing the helper itself.
    def self.start(config = nil, args: [], host: "127.0.0.1", port: 0, env: {}, timeout: START_TIMEOUT,
                   command: nil, wait: true)
      cli = new(config, args: args, host: host, port: port, env: env, command: command)
      cli.spawn
      cli.wait_for_listening(timeout) if wait
      cli
    rescue StandardError
      cli&.stop
      raise
    end

    # Stops the running processes for which the block is true (all without a block).
    def self.kill_all(timeout: 5, &filter)
      list = running_lock.synchronize { filter ? running.select(&filter) : running.dup }
      list.reverse_each { |c| c.stop(timeout: timeout) }
    end

    attr_reader :pid, :command, :status, :port, :host
    attr_accessor :owner # the example or example group that started it

    def initialize(config, args:, host:, port:, env:, command:)
      @env = env
      @tmpdir = nil
      @command = command || begin
        path = config_path(config)
        [BIN, "-b", host, "-p", port.to_s, *args.map(&:to_s), path].compact
      end
      @lock = Mutex.new
      @cond = ConditionVariable.new
      @stdout = String.new(encoding: Encoding::BINARY)
      @stderr = String.new(encoding: Encoding::BINARY)
      @output = String.new(encoding: Encoding::BINARY)
    end

    def spawn
      out_r, out_w = IO.pipe
      err_r, err_w = IO.pipe
      @pid = Process.spawn(@env, *@command, in: File::NULL, out: out_w, err: err_w,
                                            pgroup: true, chdir: ROOT)
      out_w.close
      err_w.close
      self.class.running_lock.synchronize { self.class.running << self }
      @readers = [reader(out_r, @stdout), reader(err_r, @stderr)]
      self
    end

    # Waits until the output has a line matching LISTENING; sets host and port.
    def wait_for_listening(timeout = START_TIMEOUT)
      m = wait_for_output(LISTENING, timeout)
      @host = m[1]
      @port = m[2].to_i
      self
    end

    # Waits until stdout or stderr matches pattern; returns the MatchData. Raises with the
    # output so far if the process exits first or the timeout passes.
    def wait_for_output(pattern, timeout = START_TIMEOUT)
      deadline = now + timeout
      @lock.synchronize do
        loop do
          m = text(@stdout).match(pattern) || text(@stderr).match(pattern)
          return m if m

          # After an exit, give the readers a moment to drain the pipes (a grandchild may
          # hold them open, so do not wait for their end).
          @exited_at ||= now if @closed_streams == 2 || exited?
          if @exited_at && (@closed_streams == 2 || now - @exited_at > 1)
            raise "#{@command.join(' ')} exited (#{describe_status}) before printing #{pattern.inspect}:\n#{text(@output)}"
          end

          remaining = deadline - now
          raise "timed out after #{timeout}s waiting for #{pattern.inspect} from #{@command.join(' ')}:\n#{text(@output)}" if remaining <= 0

          @cond.wait(@lock, [remaining, 0.2].min)
        end
      end
    end

    def stdout
      @lock.synchronize { text(@stdout) }
    end

    def stderr
      @lock.synchronize { text(@stderr) }
    end

    # stdout and stderr interleaved as read.
    def output
      @lock.synchronize { text(@output) }
    end

    def url(path = "/")
      "http://#{@host}:#{@port}#{path}"
    end

    def alive?
      !exited?
    end

    # Sends a signal to the server process (not the group).
    def signal(sig)
      Process.kill(sig, @pid)
    end

    # Waits for the process to exit by itself; returns its Process::Status or nil on timeout.
    def wait(timeout = STOP_TIMEOUT)
      deadline = now + timeout
      until exited?
        return nil if now > deadline

        sleep 0.05
      end
      # What it wrote last may still be in the pipes: let the readers take it (briefly: a
      # grandchild may hold the pipes open).
      drained = now + 2
      @readers&.each { |t| t.join([drained - now, 0].max) }
      @status
    end

    # Stops the process: sig (TERM) to it, then KILL to its whole process group after the
    # timeout; returns its Process::Status.
    def stop(sig = "TERM", timeout: STOP_TIMEOUT)
      return @status if @pid.nil? || @finished

      begin
        Process.kill(sig, @pid) unless exited?
      rescue Errno::ESRCH
        nil
      end
      unless wait(timeout)
        kill_group("KILL")
        wait(5)
      end
      kill_group("KILL") # anything the server started and left behind
      finish
      @status
    end

    private

    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    # The bytes read so far as UTF-8 text (a character cut between two reads shows as U+FFFD).
    def text(bytes)
      bytes.dup.force_encoding(Encoding::UTF_8).scrub
    end

    def exited?
      return true if @status

      pid, st = Process.waitpid2(@pid, Process::WNOHANG)
      @status = st if pid
      !@status.nil?
    rescue Errno::ECHILD
      true
    end

    def describe_status
      @status ? @status.inspect : "unknown status"
    end

    def kill_group(sig)
      Process.kill(sig, -@pid)
    rescue Errno::ESRCH, Errno::EPERM
      nil
    end

    def finish
      return if @finished

      @finished = true
      # The pipes end when the last process holding them exits; don't wait long for that.
      @readers&.each { |t| t.join(2) || t.kill }
      self.class.running_lock.synchronize { self.class.running.delete(self) }
      FileUtils.rm_rf(@tmpdir) if @tmpdir
    end

    def reader(io, buffer)
      Thread.new do
        loop do
          data = io.readpartial(4096)
          @lock.synchronize do
            buffer << data
            @output << data
            @cond.broadcast
          end
        end
      rescue EOFError, IOError
        @lock.synchronize do
          @closed_streams = (@closed_streams || 0) + 1
          @cond.broadcast
        end
      ensure
        io.close unless io.closed?
      end
    end

    def config_path(config)
      return nil if config.nil?
      path = File.expand_path(config, ROOT) unless config.include?("\n") || config.include?("\0")
      return path if path && File.file?(path)

      @tmpdir = Dir.mktmpdir("piston-spec")
      path = File.join(@tmpdir, "config.ru")
      File.write(path, config)
      path
    end
  end

  # Included into every example group (spec_helper).
  module CliHelpers
    # Starts bin/piston; see PistonSpec::Cli.start. Started in an example, it is stopped (and
    # its process group killed) after the example; started in before(:all), after the group.
    def start_piston(config = nil, **opts)
      cli = PistonSpec::Cli.start(config, **opts)
      cli.owner = RSpec.current_example ? self : self.class
      cli
    end
  end
end
