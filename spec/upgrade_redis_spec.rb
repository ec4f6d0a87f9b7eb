# frozen_string_literal: true

require "spec_helper"

# Pub/sub through Redis: two Piston processes (this one and a bin/piston child) sharing a
# redis-server that the spec starts on a free loopback port, kills and starts again.
module UpgradeRedisSpec
  FIXTURE = File.expand_path("fixtures/pubsub.ru", __dir__)
  # Answers with the Piston jars that Ruby has required.
  JARS_APP = <<~RUBY
    run ->(_env) { [200, {}, [$LOADED_FEATURES.grep(/piston_\\w+\\.jar/).map { |f| File.basename(f) }.sort.join(" ")]] }
  RUBY

  def ws(server, query)
    c = RawWebSocket.connect("127.0.0.1", server.port, "/?#{query}", timeout: 10)
    expect(c.read_data).to eq("subscribed")
    c
  end

  # An SSE connection; #next_event returns the data of the next event.
  class Sse
    def initialize(port, query)
      @socket = TCPSocket.new("127.0.0.1", port)
      @socket.write("GET /?#{query} HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n\r\n")
      @buffer = +""
      head = read_until("\r\n\r\n")
      raise "not an event stream: #{head}" unless head.include?("text/event-stream")
    end

    def next_event(timeout: 10)
      loop do
        event = read_until("\n\n", timeout)
        next if event.start_with?(":") # a ping comment

        return event.lines.map { |l| l.chomp.delete_prefix("data: ") }.join("\n")
      end
    end

    def close
      @socket.close
    end

    private

    def read_until(separator, timeout = 10)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
      until (i = @buffer.index(separator))
        left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
        raise RawWebSocket::Timeout, "no SSE event within #{timeout}s" if left <= 0 || !@socket.wait_readable(left)

        @buffer << @socket.readpartial(4096)
      end
      @buffer.slice!(0, i + separator.bytesize).chomp(separator)
    end
  end

  def expect_nothing_more(*clients, wait: 0.5)
    clients.each do |c|
      expect { c.read_data(timeout: wait) }.to raise_error(RawWebSocket::Timeout)
    end
  end

  def http_get(server, path)
    RawHttp.get("127.0.0.1", server.port, path, timeout: 10)
  end

  def wait_until(what, timeout: 20)
    deadline = Time.now + timeout
    sleep 0.05 until yield || Time.now > deadline
    raise "timed out after #{timeout}s waiting until #{what}" unless yield
  end
end

RSpec.describe "pub/sub through Redis", timeout: 150 do
  include UpgradeRedisSpec

  before(:all) do
    @redis = PistonSpec::RedisServer.start
    @a = serve(UpgradeRedisSpec::FIXTURE, redis: @redis.url)
    @b = start_piston(UpgradeRedisSpec::FIXTURE, args: ["-t", "4", "--redis", @redis.url])
    @b.wait_for_output(/connected to Redis at #{Regexp.escape(@redis.url)}/, 30)
    wait_until("this process is connected to Redis") { Piston.pubsub_engine.connected? }
  end

  after(:all) do
    @b&.stop
    @a&.stop
    @redis&.stop
  end

  it "says which engine carries pub/sub" do
    expect(@a.piston.pubsub).to eq("Redis #{@redis.url}")
    expect(@b.output).to include("* Pub/sub: Redis #{@redis.url}")
  end

  it "delivers a publish in one process to the subscribers of every process once, patterns and SSE included" do
    a1 = ws(@a, "sub=chat")
    b1 = ws(@b, "sub=chat")
    b2 = ws(@b, "pattern=ch*")
    a2 = UpgradeRedisSpec::Sse.new(@a.port, "pattern=c%3Fat")
    expect(a2.next_event).to eq("subscribed")
    @redis.wait_for_subscribers("chat", 2)
    @redis.wait_for_subscribers(nil, 2) # the patterns ch* and c?at

    a1.send_text("pub chat from-a") # client.publish in this process
    [a1, b1, b2].each { |c| expect(c.read_data).to eq("from-a") }
    expect(a2.next_event).to eq("from-a")
    expect(http_get(@b, "/publish?ch=chat&msg=from-b").body).to eq("published") # Piston.publish in a request
    [a1, b1, b2].each { |c| expect(c.read_data).to eq("from-b") }
    expect(a2.next_event).to eq("from-b")
    expect_nothing_more(a1, b1, b2)

    # A subscription ends with its connection; Redis keeps the channel while a process needs it.
    a1.close_socket
    @redis.wait_for_subscribers("chat", 1)
    b1.close_socket
    @redis.wait_for_subscribers("chat", 0)
    a2.close
    b2.close_socket
    @redis.wait_for_subscribers(nil, 0)
  end

  it "delivers many publishes once each, in the order they were made" do
    a1 = ws(@a, "sub=seq")
    b1 = ws(@b, "sub=seq")
    @redis.wait_for_subscribers("seq", 2)
    50.times { |i| a1.send_text("pub seq m#{i}") }
    expected = Array.new(50) { |i| "m#{i}" }
    expect(Array.new(50) { a1.read_data }).to eq(expected)
    expect(Array.new(50) { b1.read_data }).to eq(expected)
    expect_nothing_more(a1, b1)
    [a1, b1].each(&:close_socket)
  end

  it "runs blocks of connection and global subscriptions on Piston's threads, never Redis's" do
    got = Queue.new
    Piston.subscribe(:jobs) { |ch, msg| got << [ch, msg, java.lang.Thread.current_thread.name] }
    b1 = ws(@b, "block=jobs")
    a1 = ws(@a, "block=jobs")
    @redis.wait_for_subscribers("jobs", 2)
    Thread.new { Piston.publish(:jobs, "work") }.join # a Symbol names the same channel
    ch, msg, thread = Timeout.timeout(10) { got.pop }
    expect([ch, msg]).to eq(%w[jobs work])
    expect(thread).to start_with("piston-pubsub")
    expect(b1.read_data).to eq("block jobs: work")
    expect(a1.read_data).to eq("block jobs: work")
    expect(http_get(@b, "/publish_from_thread?ch=jobs&msg=again").body).to eq("published")
    expect(Timeout.timeout(10) { got.pop }[1]).to eq("again")
    expect(b1.read_data).to eq("block jobs: again")
    sleep 0.3
    expect(got.size).to eq(0)
    expect(Piston.unsubscribe("jobs")).to be(true)
    [a1, b1].each(&:close_socket)
  end

  it "sends what is valid UTF-8 as text and the rest as binary" do
    b1 = ws(@b, "sub=bytes")
    @redis.wait_for_subscribers("bytes", 1)
    Piston.publish("bytes", "h\u00e9llo")
    Piston.publish("bytes", "\xff\x00\x01".b)
    expect(b1.read_message).to eq(["h\u00e9llo", :text])
    expect(b1.read_message).to eq(["\xff\x00\x01".b, :binary])
    b1.close_socket
  end

  it "keeps serving while Redis is gone, delivers locally, then reconnects and resubscribes by itself" do
    log = capture_log do
      a1 = ws(@a, "sub=news")
      b1 = ws(@b, "sub=news")
      @redis.wait_for_subscribers("news", 2)

      @redis.kill
      wait_until("this process sees Redis gone") { !Piston.pubsub_engine.connected? }
      @b.wait_for_output(/lost the connection to Redis/, 20)

      # HTTP goes on, and a publish reaches the subscribers of its own process.
      expect(http_get(@a, "/").body).to eq("ok")
      expect(http_get(@b, "/").body).to eq("ok")
      a1.send_text("pub news local-a")
      expect(a1.read_data).to eq("local-a")
      expect(http_get(@b, "/publish?ch=news&msg=local-b").body).to eq("published")
      expect(b1.read_data).to eq("local-b")
      a2 = ws(@a, "sub=later") # subscribed while Redis is away

      @redis.start # same port
      @redis.wait_for_subscribers("news", 2, timeout: 30)
      @redis.wait_for_subscribers("later", 1, timeout: 30)
      @b.wait_for_output(/reconnected to Redis/, 30)
      wait_until("this process is back on Redis", timeout: 30) { Piston.pubsub_engine.connected? }
      # "reconnected" is about @b's subscriber connection; its publisher (used below) comes back on its own.
      wait_until("the other process is back on Redis", timeout: 30) { http_get(@b, "/connected").body == "true" }

      a1.send_text("pub news again")
      expect(a1.read_data).to eq("again") # not local-b
      expect(b1.read_data).to eq("again") # not local-a
      expect(http_get(@b, "/publish?ch=later&msg=hello-later").body).to eq("published")
      expect(a2.read_data).to eq("hello-later")
      expect_nothing_more(a1, b1, a2)
      [a1, b1, a2].each(&:close_socket)
    end
    expect(log).to include("lost the connection to Redis at #{@redis.url}")
    expect(log).to include("reconnected to Redis at #{@redis.url}")
  end
end

RSpec.describe "pub/sub engine selection", timeout: 120 do
  include UpgradeRedisSpec

  after { Piston.pubsub_engine = :local }

  it "refuses what is not a Redis URL" do
    expect { Piston::Server.new(->(_) { [200, {}, []] }, redis: "http://x") }.to raise_error(ArgumentError, /Redis URL/)
    expect { Piston.pubsub_engine = "localhost:6379" }.to raise_error(ArgumentError, /Redis URL/)
    expect(Piston.pubsub_engine.describe).to eq("in-process")
  end

  it "switches engines from Ruby, carrying subscriptions over" do
    redis = PistonSpec::RedisServer.start
    got = Queue.new
    Piston.subscribe("carry") { |_ch, msg| got << msg }
    Piston.subscribe("car*", match: :redis) { |ch, msg| got << "#{ch}~#{msg}" }
    Piston.pubsub_engine = redis.url
    expect(Piston.pubsub_engine.describe).to eq("Redis #{redis.url}")
    redis.wait_for_subscribers("carry", 1)
    redis.wait_for_subscribers(nil, 1)
    redis.command("PUBLISH", "carry", "from another client")
    expect(Timeout.timeout(10) { [got.pop, got.pop].sort }).to eq(["carry~from another client", "from another client"])

    Piston.pubsub_engine = :local # closes the Redis engine
    redis.wait_for_subscribers("carry", 0)
    Piston.publish("carry", "local")
    expect(Timeout.timeout(10) { [got.pop, got.pop].sort }).to eq(["carry~local", "local"])
    expect(Piston.unsubscribe("carry")).to be(true)
    expect(Piston.unsubscribe("car*", match: :redis)).to be(true)
  ensure
    redis&.stop
  end

  it "starts with Redis unreachable (PISTON_REDIS_URL), says so, and connects when it appears" do
    port = PistonSpec::RedisServer.free_port
    url = "redis://127.0.0.1:#{port}/0"
    piston = start_piston(UpgradeRedisSpec::FIXTURE, env: { "PISTON_REDIS_URL" => url })
    piston.wait_for_output(/Redis at #{Regexp.escape(url)} is unreachable/, 20)
    expect(piston.output).to include("* Pub/sub: Redis #{url}")
    expect(http_get(piston, "/").body).to eq("ok")
    w = ws(piston, "sub=solo")
    w.send_text("pub solo alone")
    expect(w.read_data).to eq("alone")

    redis = PistonSpec::RedisServer.start(port: port)
    piston.wait_for_output(/connected to Redis at #{Regexp.escape(url)}/, 20)
    redis.wait_for_subscribers("solo", 1)
    redis.command("PUBLISH", "solo", "from redis")
    expect(w.read_data).to eq("from redis")
    w.close_socket
  ensure
    redis&.stop
  end
end

# The Redis client (Lettuce and what it needs) is a jar of its own, piston_redis.jar, required when
# a Redis engine starts: until then it is not on the class path, and no class comes from it.
RSpec.describe "the Redis client's jar", timeout: 150 do
  # Starts bin/piston with ARGS, returns the jars the app saw and the classes the JVM loaded from
  # each (its class loading log names the jar of each class).
  def jars_of(args)
    dir = Dir.mktmpdir("piston-spec")
    log = File.join(dir, "classes.log")
    env = { "PISTON_REDIS_URL" => nil, "PISTON_JAVA_OPTS" => "-Xlog:class+load=info:file=#{log}" }
    piston = start_piston(UpgradeRedisSpec::JARS_APP, args: args, env: env)
    required = RawHttp.get("127.0.0.1", piston.port, "/", timeout: 10).body.split
    piston.stop
    [required, File.foreach(log).filter_map { |line| line[%r{ source: \S*/(piston_\w+\.jar)$}, 1] }.tally]
  ensure
    FileUtils.rm_rf(dir)
  end

  it "is not loaded by a server without Redis" do
    required, classes = jars_of([])
    expect(required).to eq(["piston_core.jar"])
    expect(classes["piston_core.jar"]).to be > 100
    expect(classes).not_to have_key("piston_redis.jar")
  end

  it "is loaded when a Redis engine starts" do
    required, classes = jars_of(["--redis", "redis://127.0.0.1:#{PistonSpec::RedisServer.free_port}/0"])
    expect(required).to eq(%w[piston_core.jar piston_redis.jar])
    expect(classes["piston_redis.jar"]).to be > 100
  end
end
