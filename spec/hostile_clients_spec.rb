# frozen_string_literal: true

require "spec_helper"

# Hostile clients: one connection must never take Piston down. One server (a normal route, a
# POST echo that records what reaches it, a WebSocket echo, an SSE stream) takes batches of
# hostile clients, a few at a time: mutated requests and frames (spec/support/hostile.rb),
# floods from clients that never read, resets, heads and bodies that never finish. Each client
# checks what it can cheaply (statuses, closes, close codes); after every batch the server must
# answer a plain request and a WebSocket echo within 1 s each; at the end it must be back to the
# threads, fds and heap it had after the first batch.
#
# The first example runs the clients; the others judge what they saw, one class of failure
# each, so run the whole file (an example run alone fails: nothing was exercised).
#
#   HOSTILE_SECONDS  how long the clients run, at least one batch. Default 60 under Rack 2.2 and
#                    10 under Rack 3.1: bin/test runs Rack 2.2 once (JRuby 9.4) and Rack 3.1
#                    twice, over the same Java core, so one long run is enough.
#   HOSTILE_SEED     replays the mutations of a run (printed at the start and in every failure;
#                    mask keys and timing aside).
#   HOSTILE_LOG      set: print Piston's log of the run (otherwise only its errors, on failure).
#
#   SKIP_MVN=1 bin/test --jruby9 --rack2 spec/hostile_clients_spec.rb
#   HOSTILE_SEED=1234 HOSTILE_SECONDS=30 SKIP_MVN=1 bin/test --jruby9 --rack3 spec/hostile_clients_spec.rb
module HostileClientsSpec
  SECONDS = Float(ENV.fetch("HOSTILE_SECONDS", Rack.release.start_with?("2.") ? "60" : "10"))
  SEED = Integer(ENV.fetch("HOSTILE_SEED", Random.new_seed.to_s[0, 9]))

  HEADER_TIMEOUT = 1   # seconds, for heads and bodies alike; what the server gets (serve below)
  CLOSE_TIMEOUT = 1
  MAX_MESSAGE = 64 * 1024
  # Seconds past a server deadline before a client calls it missed: timers, a busy machine.
  SLACK = 3
  CLIENTS_AT_ONCE = 4
  # What a client that never reads may push in: a server that stops reading (or closes) holds
  # it to its queue limit plus the kernel's buffers, about 4.5 MB on loopback here (256 KiB of
  # max_outbound_bytes, the server's 4 MiB send buffer, small client buffers). One that takes
  # 16 MB queues without a limit.
  FLOOD_LIMIT = 16 * 1024 * 1024
  # After the clients are gone, the JVM may hold this much more than after the first batch and
  # still count as having given everything back. A few threads and fds come and go with the JVM
  # and JRuby (compiler threads, JRuby's timeout thread, jars opened by a code path's first use).
  # Heap after a full GC ends within 1 MB of the baseline on a core that bounds what it queues,
  # 10 s run or 60 s; 8 MB leaves room for caches that fill later on other JVMs. A leak per
  # connection shows as hundreds of threads or fds (a 10 s run opens about a hundred
  # connections, 60 s several hundred), a flood's queue kept after its client left as 16 MB.
  THREAD_MARGIN = 8
  FD_MARGIN = 8
  HEAP_MARGIN = 8 * 1024 * 1024
  DRAIN_SECONDS = 20

  # What the app saw of requests that must never reach it.
  class Recorder
    attr_reader :count, :samples

    def initialize
      @lock = Mutex.new
      @count = 0
      @samples = []
    end

    def record(env, body)
      @lock.synchronize do
        @count += 1
        @samples << "#{env['REQUEST_METHOD']} #{env['PATH_INFO']} body #{body.inspect[0, 60]}" if @samples.size < 5
      end
    end
  end
  MALFORMED_SEEN = Recorder.new

  class Echo
    def on_message(client, data)
      client.write(data)
    end
  end

  class Stream
    def on_open(client)
      client.write("hello")
    end
  end

  APP = lambda do |env|
    case [env["PATH_INFO"], env["rack.upgrade?"]]
    in ["/ws", :websocket]
      env["rack.upgrade"] = Echo.new
      [0, {}, []]
    in ["/sse", :sse]
      env["rack.upgrade"] = Stream.new
      [200, {}, []]
    in ["/echo", _]
      body = env["rack.input"].read.to_s
      MALFORMED_SEEN.record(env, body) if env["HTTP_X_HOSTILE"] == "malformed"
      [200, { "content-type" => "application/octet-stream" }, [body]]
    in ["/", _]
      [200, { "content-type" => "text/plain" }, ["ok"]]
    else
      [404, { "content-type" => "text/plain" }, ["not found"]]
    end
  end

  # Per check: how many clients exercised it, and what went wrong (thread-safe).
  class Findings
    # JvmResources snapshot after the first batch
    attr_accessor :baseline

    def initialize
      @lock = Mutex.new
      @runs = Hash.new(0)
      @bad = Hash.new { |h, k| h[k] = [] }
    end

    def ran(check)
      @lock.synchronize { @runs[check] += 1 }
    end

    def bad(check, what)
      @lock.synchronize { @bad[check] << what }
    end

    def runs(check)
      @lock.synchronize { @runs[check] }
    end

    def violations(check)
      @lock.synchronize { @bad[check].dup }
    end

    def summary
      @lock.synchronize { @runs.map { |check, n| "#{check} #{n} (#{@bad[check].size} bad)" }.join(", ") }
    end
  end

  # The hostile clients: each method is one client, draws everything from its Random, checks
  # what it can and reports to the Findings under its check's name. Each is bounded by its
  # sockets' timeouts, and leaves with a close or, at random, a reset.
  class Clients
    # client => the check it reports to (nil: it only has to not break anything)
    KINDS = {
      bad_chunked: :statuses, bad_length: :statuses, valid_chunked: :statuses, flipped: nil,
      half_head: :timeouts, stalled_body: :timeouts, reset: nil,
      pipeline_flood: :floods, ping_flood: :floods, message_flood: :floods,
      bad_frames: :ws_protocol, interleaved: :ws_protocol, noise_frames: nil, close_code: :close_codes,
      sse: :sse
    }.freeze

    def initialize(port, findings)
      @port = port
      @findings = findings
    end

    def run(kind, rng)
      check = KINDS.fetch(kind)
      @findings.ran(check) if check
      send(kind, rng)
    rescue StandardError => e
      # A client that raises (an answer that never came, a refused connection) counts against
      # its check, or against the clients as a whole when it has none: nothing fails quietly.
      @findings.bad(check || :clients, "#{kind}: #{e.class}: #{e.message[0, 200]}")
    end

    private

    def http(timeout: 3)
      RawHttp.new("127.0.0.1", @port, timeout: timeout, connect_timeout: timeout)
    end

    def ws(timeout: 3)
      RawWebSocket.connect("127.0.0.1", @port, "/ws", timeout: timeout)
    end

    def leave(rng, socket)
      rng.rand(2).zero? ? HostileSocket.reset(socket) : socket.close
    rescue IOError, SystemCallError
      nil
    end

    # An error status in time, then the connection closed.
    def expect_refusal(check, rng, req)
      c = http
      HostileSocket.write(c.socket, req.bytes)
      res = begin
        c.read_response
      rescue RawHttp::Error => e
        e
      end
      if res.is_a?(Exception)
        @findings.bad(check, "#{req.name}: no response (#{res.class})")
      elsif !req.statuses.include?(res.status)
        @findings.bad(check, "#{req.name}: #{res.status}, expected #{req.statuses.join(' or ')}")
      elsif !c.closed_by_peer?(2)
        @findings.bad(check, "#{req.name}: #{res.status}, but the connection stayed open")
      end
    ensure
      leave(rng, c.socket) if c
    end

    def bad_chunked(rng)
      expect_refusal(:statuses, rng, Hostile.bad_chunked(rng))
    end

    def bad_length(rng)
      expect_refusal(:statuses, rng, Hostile.bad_length(rng))
    end

    # A well-formed chunked body still echoes, between the malformed ones.
    def valid_chunked(rng)
      raw, body = Hostile.valid_chunked(rng, "valid")
      c = http
      c.request(raw)
      res = c.read_response
      @findings.bad(:statuses, "valid chunked body: #{res.status} #{res.body.inspect[0, 80]}") unless
        res.status == 200 && res.body == body
    ensure
      leave(rng, c.socket) if c
    end

    def flipped(rng)
      c = http(timeout: 1)
      HostileSocket.write(c.socket, Hostile.flipped(rng))
      begin
        c.read_response
      rescue RawHttp::Error
        nil # whatever it made of the bytes, it may answer or not
      end
    ensure
      leave(rng, c.socket) if c
    end

    # A head or a body that stops coming: 408 (or just a close) once header_timeout passed.
    def half_head(rng)
      stall(rng, *Hostile.half_head(rng))
    end

    def stalled_body(rng)
      stall(rng, *Hostile.stalled_body(rng))
    end

    def stall(rng, bytes, what)
      c = http(timeout: HEADER_TIMEOUT + SLACK)
      c.write(bytes)
      t0 = now
      res = begin
        c.read_response
      rescue RawHttp::ClosedError
        nil # closed without a word: allowed
      rescue RawHttp::Timeout
        @findings.bad(:timeouts, "#{what}: connection still open after #{(now - t0).round(1)} s " \
                                 "(header/body timeout #{HEADER_TIMEOUT} s)")
        return
      end
      @findings.bad(:timeouts, "#{what}: #{res.status}, expected 408") if res && res.status != 408
    ensure
      leave(rng, c.socket) if c
    end

    # Part of something, then a TCP reset instead of the rest; or a whole upgrade request and a
    # reset while the server takes the connection over.
    def reset(rng)
      case rng.rand(4)
      when 0 then torn(rng, http.socket, Hostile.head("GET", "/", ["Accept: */*"]))
      when 1 then torn(rng, http.socket, Hostile.valid_chunked(rng, "reset").first)
      when 2 then torn(rng, ws.socket, RawWebSocket.frame(:text, Hostile.text(rng, 300)))
      else
        c = http
        c.write(rng.rand(2).zero? ? Hostile.ws_handshake : Hostile.head("GET", "/sse", ["Accept: text/event-stream"]))
        sleep(rng.rand * 0.01) if rng.rand(2).zero?
        HostileSocket.reset(c.socket)
      end
    end

    def torn(rng, socket, bytes)
      HostileSocket.write(socket, bytes.byteslice(0, rng.rand(1..bytes.bytesize)))
      HostileSocket.reset(socket)
    end

    # Never reads: the server must stop reading (backpressure) or close before FLOOD_LIMIT.
    def pipeline_flood(rng)
      c = http
      flood(rng, "requests", c.socket, Hostile.head("GET", "/", ["X-Pad: #{'p' * rng.rand(100)}"]) * 100)
    end

    def ping_flood(rng)
      c = ws
      flood(rng, "pings", c.socket, Array.new(500) { Hostile.ping(rng) }.join)
    end

    def message_flood(rng)
      c = ws
      flood(rng, "messages to echo", c.socket, RawWebSocket.frame(:text, Hostile.text(rng, 2000)) * 30)
    end

    def flood(rng, what, socket, piece)
      HostileSocket.small_buffers(socket)
      outcome, sent = HostileSocket.flood(socket, piece, limit: FLOOD_LIMIT)
      return unless outcome == :absorbed

      @findings.bad(:floods, "#{what} from a client that never reads: took #{sent / 1024**2} MB without closing " \
                             "or pushing back")
    ensure
      leave(rng, socket)
    end

    # Sends bytes after which the server must end the connection, yields its Close frame (nil:
    # none came), and reports under `check` when TCP stays open.
    def must_close(rng, check, what, bytes)
      c = ws
      HostileSocket.write(c.socket, bytes)
      yield close_or_eof(c, CLOSE_TIMEOUT + SLACK)
      @findings.bad(check, "#{what}: connection still open") unless c.eof?(CLOSE_TIMEOUT + SLACK)
    ensure
      leave(rng, c.socket) if c
    end

    # The server must fail the connection: Close (1002, 1007 or 1009) if any, then TCP closed.
    def bad_frames(rng)
      name, bytes = Hostile.bad_frames(rng)
      must_close(rng, :ws_protocol, name, bytes) do |frame|
        next unless frame && ![1002, 1007, 1009].include?(frame.close_code)

        @findings.bad(:ws_protocol, "#{name}: Close #{frame.close_code.inspect}, expected 1002, 1007 or 1009")
      end
    end

    # Pings between the fragments of a message: a pong for each, in order, and the whole message echoed.
    def interleaved(rng)
      bytes, message, pings = Hostile.interleaved(rng)
      c = ws
      c.write_raw(bytes)
      pongs = []
      loop do
        f = c.read_frame
        case f.type
        when :pong then pongs << f.payload
        when :text
          got = f.payload.force_encoding(Encoding::UTF_8)
          ok = got == message && pongs == pings
          @findings.bad(:ws_protocol, "pings between fragments: echo #{got == message ? 'ok' : 'wrong'}, pongs " \
                                      "#{pongs.inspect} for pings #{pings.inspect}") unless ok
          break
        when :ping then next
        else
          @findings.bad(:ws_protocol, "pings between fragments: got a #{f.type} frame")
          break
        end
      end
    ensure
      leave(rng, c.socket) if c
    end

    def noise_frames(rng)
      c = ws
      HostileSocket.write(c.socket, Hostile.noise_frames(rng))
      close_or_eof(c, 0.5)
    ensure
      leave(rng, c.socket) if c
    end

    # A valid code gets a Close back (RFC 6455 5.5.1); an invalid one fails the connection:
    # Close 1002 or none, never the bad code echoed. Either way TCP closes.
    def close_code(rng)
      code, bytes, good = Hostile.close_frame(rng)
      must_close(rng, :close_codes, "close code #{code}", bytes) do |frame|
        got = frame&.close_code
        if good && (frame.nil? || Hostile::BAD_CLOSE_CODES.include?(got))
          @findings.bad(:close_codes, "valid close code #{code}: answered #{frame ? "Close #{got}" : 'no Close'}")
        elsif !good && frame && got != 1002
          @findings.bad(:close_codes, "invalid close code #{code}: answered Close #{got.inspect}, expected 1002 or none")
        end
      end
    end

    # The server's Close frame, or nil when the connection ended without one (or nothing came).
    def close_or_eof(ws, timeout)
      ws.read_close(timeout: timeout)
    rescue EOFError, RawWebSocket::Timeout, Errno::ECONNRESET
      nil
    end

    # The first event arrives; then the client reads on, stops reading, or vanishes.
    def sse(rng)
      c = http
      c.request(Hostile.head("GET", "/sse", ["Accept: text/event-stream"]))
      got = +""
      deadline = now + 2
      got << c.read_partial(timeout: [deadline - now, 0.01].max).to_s until got.include?("data: hello") || now > deadline
      @findings.bad(:sse, "no first event within 2 s: #{got.inspect[0, 200]}") unless got.include?("data: hello")
      sleep(rng.rand * 0.3)
    rescue RawHttp::Error => e
      @findings.bad(:sse, "no first event: #{e.class}: #{e.message[0, 100]}")
    ensure
      leave(rng, c.socket) if c
    end

    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end

RSpec.describe "Hostile clients" do
  before(:all) do
    limits = HostileClientsSpec
    @server = serve(HostileClientsSpec::APP, threads: 4, header_timeout: limits::HEADER_TIMEOUT,
                                             body_timeout: limits::HEADER_TIMEOUT, idle_timeout: 2, write_timeout: 2,
                                             max_body: 1024 * 1024, max_message: limits::MAX_MESSAGE,
                                             max_outbound_bytes: 256 * 1024, close_timeout: limits::CLOSE_TIMEOUT,
                                             ping_interval: 2)
    @findings = HostileClientsSpec::Findings.new
    @seed = HostileClientsSpec::SEED
    puts "hostile clients: seed #{@seed}, #{HostileClientsSpec::SECONDS} s " \
         "(replay: HOSTILE_SEED=#{@seed} HOSTILE_SECONDS=#{HostileClientsSpec::SECONDS})"
  end

  after(:all) { @server&.stop }

  def now
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # Seconds a plain GET and a WebSocket echo took on fresh connections, or the error.
  def answers_within(limit)
    port = @server.port
    t0 = now
    res = RawHttp.get("127.0.0.1", port, "/", timeout: limit)
    raise "GET / answered #{res.status}" unless res.status == 200 && res.body == "ok"

    t1 = now
    c = RawWebSocket.connect("127.0.0.1", port, "/ws", timeout: limit)
    begin
      c.send_text("still there?")
      raise "WebSocket echo was wrong" unless c.read_data(timeout: limit) == "still there?"
    ensure
      c.close_socket
    end
    [t1 - t0, now - t1]
  end

  def failure_message(check, what)
    bad = @findings.violations(check)
    "seed #{@seed}: #{bad.size} problem(s) in #{@findings.runs(check)} #{what} " \
      "(replay: HOSTILE_SEED=#{@seed} HOSTILE_SECONDS=#{HostileClientsSpec::SECONDS}):\n  " +
      bad.tally.sort_by { |_, n| -n }.first(12).map { |line, n| "#{n} x #{line}" }.join("\n  ")
  end

  def expect_clean(check, what)
    expect(@findings.runs(check)).to be > 0, "seed #{@seed}: no #{what} ran (the first example runs them)"
    expect(@findings.violations(check)).to be_empty, failure_message(check, what)
  end

  # One batch: every kind of client, plus a few drawn at random, in a random order, a few at a time.
  def run_batch(clients, rng)
    kinds = HostileClientsSpec::Clients::KINDS.keys
    queue = Queue.new
    (kinds + Array.new(4) { kinds.sample(random: rng) }).shuffle(random: rng).each do |kind|
      queue << [kind, Random.new(rng.rand(2**62))]
    end
    queue.close
    workers = Array.new(HostileClientsSpec::CLIENTS_AT_ONCE) do
      Thread.new do
        while (job = queue.pop)
          clients.run(*job)
        end
      end
    end
    workers.each do |t|
      next if t.join(60)

      @findings.bad(:clients, "a client thread did not finish in 60 s: #{t.backtrace&.first(3)}")
      t.kill
    end
  end

  # Batches until the deadline (at least one), each followed by the liveness check.
  def run_batches(clients, rng, deadline)
    batches = 0
    loop do
      run_batch(clients, rng)
      batches += 1
      @findings.ran(:liveness)
      begin
        http_s, ws_s = answers_within(1)
        if http_s > 1 || ws_s > 1
          @findings.bad(:liveness, format("batch %d: GET took %.2f s, echo %.2f s", batches, http_s, ws_s))
        end
      rescue StandardError => e
        @findings.bad(:liveness, "batch #{batches}: #{e.class}: #{e.message[0, 200]}")
      end
      # The baseline comes after the first batch: what first use loads or pools (JRuby's
      # selectors for IO.select, one per client thread; compiled code; caches) is there by then.
      if batches == 1
        sleep 0.5
        @findings.baseline = JvmResources.snapshot
        puts "hostile clients: after the first batch: #{@findings.baseline}"
      end
      break if now > deadline
    end
  end

  it "answers a request and a WebSocket echo within 1 s after every batch of hostile clients",
     timeout: HostileClientsSpec::SECONDS + 120 do
    rng = Random.new(@seed)
    clients = HostileClientsSpec::Clients.new(@server.port, @findings)
    deadline = now + HostileClientsSpec::SECONDS
    # Piston's log (a warning per refused request) and Netty's own warnings are kept for the
    # check on internal errors.
    log, netty = capture_netty_warnings do
      capture_log do
        run_batches(clients, rng, deadline)
      end
    end
    @findings.ran(:log)
    log.each_line.grep(/ ERROR /) { |line| @findings.bad(:log, line.chomp.sub(/\A\S+ \S+ /, "")) }
    netty.each { |line| @findings.bad(:log, line) }
    puts log if ENV["HOSTILE_LOG"]
    puts "hostile clients: #{@findings.runs(:liveness)} batches; #{@findings.summary}"
    expect(@findings.violations(:clients)).to be_empty, failure_message(:clients, "clients")
    expect_clean(:liveness, "liveness checks after a batch")
  end

  it "logs no internal error (Piston's Log.error, or an exception Netty caught on its threads)" do
    expect_clean(:log, "run(s) of hostile clients")
  end

  it "answers malformed chunked bodies and bad lengths with 400 (413 for sizes past max_body) and closes" do
    expect_clean(:statuses, "malformed requests")
  end

  it "never hands a malformed request to the app" do
    expect(@findings.runs(:statuses)).to be > 0, "seed #{@seed}: no malformed request ran (the first example sends them)"
    seen = HostileClientsSpec::MALFORMED_SEEN
    expect(seen.count).to eq(0), "seed #{@seed}: the app saw #{seen.count} malformed requests, e.g.\n  " +
                                 seen.samples.join("\n  ")
  end

  it "times out heads and bodies that stop coming (408 or a close, within their timeout)" do
    expect_clean(:timeouts, "stalled heads and bodies")
  end

  it "stops reading from, or closes, a client that floods and never reads" do
    expect_clean(:floods, "floods")
  end

  it "answers a valid close code and fails the connection on an invalid one, never echoing it" do
    expect_clean(:close_codes, "close frames")
  end

  it "fails the connection on frames that break RFC 6455 and answers pings between fragments" do
    expect_clean(:ws_protocol, "frame sequences")
  end

  it "streams SSE to clients between the hostile ones" do
    expect_clean(:sse, "SSE clients")
  end

  it "gives back threads, fds and heap once the clients are gone", timeout: HostileClientsSpec::DRAIN_SECONDS + 30 do
    base = @findings.baseline
    expect(base).not_to be_nil, "seed #{@seed}: no hostile client ran (the first example runs them)"
    limit = HostileClientsSpec
    deadline = now + limit::DRAIN_SECONDS
    after = JvmResources.snapshot
    # Connections close on their own timeouts: wait (bounded) until threads and fds are back.
    until (after.threads <= base.threads + limit::THREAD_MARGIN && after.fds <= base.fds + limit::FD_MARGIN &&
           after.heap <= base.heap + limit::HEAP_MARGIN) || now > deadline
      sleep 1
      after = JvmResources.snapshot
    end
    puts "hostile clients: after: #{after}; more fds: #{after.more_fds_than(base)}"
    msg = "seed #{@seed}: before #{base}; after #{limit::DRAIN_SECONDS} s of draining #{after}; " \
          "more fds: #{after.more_fds_than(base)}"
    aggregate_failures do
      expect(after.threads).to be <= base.threads + limit::THREAD_MARGIN, msg
      expect(after.fds).to be <= base.fds + limit::FD_MARGIN, msg
      expect(after.heap).to be <= base.heap + limit::HEAP_MARGIN, msg
    end
  end
end
