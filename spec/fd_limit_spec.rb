# frozen_string_literal: true

require "spec_helper"
require "socket"

# bin/piston in a child process with a low open files limit (`ulimit -n`): connections beyond
# what the limit allows are refused (accepted and closed at once, not left hanging), the refusals
# are logged at most once per second, connections already open keep working, and the server
# accepts again once some close. Runs on the transport PISTON_TRANSPORT names (auto if unset).
RSpec.describe "the open files limit", timeout: 180 do
  ECHO_RU = File.join(__dir__, "fixtures", "echo.ru")
  # The JVM, JRuby and the event loops take about 25 descriptors; the rest are for connections.
  LIMIT = 200
  REFUSALS_WANTED = 40

  # A keep-alive HTTP connection that got its answer: the server holds it (and a descriptor) open.
  # nil when the server refused it: closed (or reset) without an answer.
  def held_connection(host, port)
    socket = TCPSocket.new(host, port)
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    raise "no answer, nor a close, within 10 s" unless socket.wait_readable(10)

    head = socket.readpartial(4096)
    raise "unexpected answer: #{head.inspect}" unless head.start_with?("HTTP/1.1 200")

    socket
  rescue EOFError, Errno::ECONNRESET, Errno::EPIPE
    socket&.close
    nil
  end

  def open_until_refused(host, port)
    held = []
    refused = 0
    (LIMIT * 2).times do
      socket = held_connection(host, port)
      socket ? held << socket : refused += 1
      break if refused >= REFUSALS_WANTED
    end
    [held, refused]
  end

  def echoes?(ws, text)
    ws.send_text(text)
    ws.read_message == ["echo: #{text}", :text]
  end

  # bin/piston serving ECHO_RU after `ulimit ULIMIT` in the shell that starts it.
  def start_limited(ulimit, args: [], env: {})
    command = ["bash", "-c", "ulimit #{ulimit} && exec \"$@\"", "bash", PistonSpec::Cli::BIN,
               "-b", "127.0.0.1", "-p", "0", *args, ECHO_RU]
    start_piston(command: command, env: env)
  end

  it "refuses what it cannot hold, logs that once a second, keeps serving, and recovers" do
    piston = start_limited("-n #{LIMIT}", args: ["--idle-timeout", "600"])
    expect(piston.output).to include("open files limit: #{LIMIT}")
    ws = RawWebSocket.connect(piston.host, piston.port, "/")
    expect(echoes?(ws, "before")).to be(true)

    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    held, refused = open_until_refused(piston.host, piston.port)
    expect(refused).to eq(REFUSALS_WANTED), "#{held.size} connections held, none refused"
    expect(held.size).to be_between(LIMIT / 2, LIMIT)
    expect(echoes?(ws, "at the limit")).to be(true)

    # The refusals are counted in lines a second apart, not one line each.
    line = /out of file descriptors or memory: accept failed \d+ time\(s\) \(.*\), (\d+) new connection\(s\) refused/
    piston.wait_for_output(line, 5)
    sleep 1.2 # the last line, a second after the one before
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    lines = piston.output.scan(line)
    expect(lines.size).to be_between(1, elapsed.ceil + 1)
    expect(lines.sum { |(n)| Integer(n) }).to eq(REFUSALS_WANTED)
    expect(piston.output.scan(/Too many open files/).size).to eq(lines.size), piston.output

    # Closing some gives the server room again: new connections are served, WebSockets too.
    held.pop(10).each(&:close)
    sleep 0.5
    again = held_connection(piston.host, piston.port)
    expect(again).not_to be_nil
    second = RawWebSocket.connect(piston.host, piston.port, "/")
    expect(echoes?(second, "after")).to be(true)
    expect(echoes?(ws, "still")).to be(true)
  ensure
    [*held, again].compact.each(&:close)
    [ws, second].compact.each { |w| w.socket.close }
  end

  it "raises its soft limit to the hard limit at start, and says so" do
    hard = Process.getrlimit(:NOFILE).last
    skip "the hard limit is not above 300 here" unless hard > 300

    # -XX:-MaxFDLimit: the JVM leaves the soft limit as it found it, so this is the server's doing.
    piston = start_limited("-S -n 300", env: { "PISTON_JAVA_OPTS" => "-XX:-MaxFDLimit" })
    shown = hard == Process::RLIM_INFINITY ? "unlimited" : hard.to_s
    expect(piston.output).to include("open files limit: #{shown}")
    limits = File.read("/proc/#{piston.pid}/limits")[/^Max open files\s+(\S+)/, 1]
    expect(limits).to eq(shown)
  end
end
