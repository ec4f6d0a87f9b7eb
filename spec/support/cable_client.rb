# frozen_string_literal: true

require "json"
require "open3"
require "timeout"

# A real ActionCable client for specs: spec/support/cable_client.js (the @rails/actioncable
# package in Node) in a child process, sent commands and read for events as JSON lines.
#
#   cable = CableClient.start("ws://127.0.0.1:#{port}/cable", headers: { "Origin" => "http://127.0.0.1:#{port}" })
#   cable.subscribe("echo", channel: "EchoChannel")
#   cable.wait_for("connected", key: "echo")
#   cable.perform("echo", "speak", text: "hi")
#   cable.wait_for("received", key: "echo")["data"]   # => {"text" => "hi", ...}
#   cable.stop
class CableClient
  SCRIPT = File.join(__dir__, "cable_client.js")

  def self.start(url, headers: {})
    new(url, headers)
  end

  def self.usable?
    root = File.expand_path("../..", __dir__)
    system("node", "--version", out: File::NULL, err: File::NULL) &&
      File.directory?(File.join(root, "node_modules", "@rails", "actioncable"))
  end

  attr_reader :events

  def initialize(url, headers)
    @stdin, @stdout, @stderr, @thread = Open3.popen3("node", SCRIPT, url, JSON.generate(headers))
    @events = [] # everything read so far, in order
    @unread = []
  end

  def subscribe(key, **params)
    command(op: "subscribe", key: key, params: params)
  end

  def perform(key, action, **data)
    command(op: "perform", key: key, action: action, data: data)
  end

  def unsubscribe(key)
    command(op: "unsubscribe", key: key)
  end

  def disconnect
    command(op: "disconnect")
  end

  # The next event (skipping others) named `name` whose fields include `fields`; raises after timeout.
  def wait_for(name, timeout: 10, **fields)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    loop do
      index = @unread.index { |e| e["event"] == name && fields.all? { |k, v| e[k.to_s] == v } }
      return @unread.slice!(0..index).last if index

      left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
      raise Timeout::Error, "no #{name} #{fields} in #{timeout} s; events: #{@events.last(20)}#{stderr_tail}" if left <= 0

      read_event(left)
    end
  end

  # Events that arrive within `seconds` (and any not waited for yet).
  def events_within(seconds)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
    while (left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)).positive?
      read_event(left)
    end
    @unread.slice!(0..)
  end

  def stop
    @stdin.close unless @stdin.closed?
    Process.kill("TERM", @thread.pid) if @thread.alive? && !@thread.join(5)
    @thread.join
  rescue Errno::ESRCH
    nil
  end

  private

  def command(**fields)
    @stdin.puts(JSON.generate(fields))
    @stdin.flush
  end

  def read_event(timeout)
    return unless IO.select([@stdout], nil, nil, timeout)

    line = @stdout.gets or raise "cable client exited#{stderr_tail}"
    event = JSON.parse(line)
    @events << event
    @unread << event
  end

  def stderr_tail
    return "" if @thread.alive?

    "\nstderr: #{@stderr.read.to_s[-2000..] || ''}"
  end
end
