# frozen_string_literal: true

require "spec_helper"
require "zlib"

# Many writes from one thread arrive complete and in order, whatever their kind: small messages
# (framed together on the IO thread), large ones (framed by the writer), text and binary, data
# events and named events, with and without permessage-deflate; and as they were when written.
module UpgradeWriteOrderSpec
  COUNT = 3000
  BIG = "x" * 20_000

  # The i-th message: [kind, data]
  def self.message(i)
    if (i % 101).zero? then [:big, "#{BIG}#{i}"]
    elsif (i % 7).zero? then [:binary, "b#{i}".b]
    else [:text, "t\u00e9#{i}"]
    end
  end

  class WebSocketWriter
    def on_open(client)
      from_thread = client.env["QUERY_STRING"] == "thread"
      write_all = lambda do
        COUNT.times do |i|
          _kind, data = UpgradeWriteOrderSpec.message(i)
          client.write(data)
        end
        client.write("end")
      end
      from_thread ? Thread.new(&write_all) : write_all.call
    end
  end

  class SseWriter
    def on_open(client)
      COUNT.times do |i|
        kind, data = UpgradeWriteOrderSpec.message(i)
        if kind == :binary
          client.write_sse(data: "n#{i}", event: "named", id: i.to_s)
        else
          client.write("#{data}\nline2")
        end
      end
      client.write("end")
    end
  end

  # Writes one String over and over, changing it in place right after each write: the server
  # does not copy what it is given, so it must not see those changes.
  class BufferReuser
    # capacity: a small buffer is queued by reference (and marked copy-on-write), a large one copied
    def initialize(capacity)
      @capacity = capacity
    end

    def on_open(client)
      buf = String.new("", capacity: @capacity) # UTF-8, so WebSocket messages go as text
      COUNT.times do |i|
        buf.clear
        buf << "m" << i.to_s # built in place: the bytes are this String's own
        client.write(buf)
        buf.setbyte(0, 90)
        buf << "-changed"
      end
      client.write("end")
    end
  end

  LINE = "y" * 150
  NEWLINES = ("\n" * 8192).freeze

  # Enough small events in one go to fill several of the IO thread's 64 KiB gather arrays, and
  # one event of 8 KiB of line breaks (each becomes a "data: " line: 7 times the bytes).
  class ManyWriter
    def on_open(client)
      COUNT.times do |i|
        client.write(i == COUNT / 2 ? NEWLINES : "#{i} #{LINE}")
      end
      client.write("end")
    end
  end

  APP = lambda do |env|
    case env["PATH_INFO"]
    when "/reuse" then env["rack.upgrade"] = BufferReuser.new(env["QUERY_STRING"] == "big" ? 65_536 : 64)
    when "/many" then env["rack.upgrade"] = ManyWriter.new
    end
    return [200, {}, []] if env["rack.upgrade"]

    case env["rack.upgrade?"]
    when :websocket then env["rack.upgrade"] = WebSocketWriter.new
    when :sse then env["rack.upgrade"] = SseWriter.new
    end
    [200, {}, []]
  end
end

RSpec.describe "writes in order" do
  before(:all) { @server = serve(UpgradeWriteOrderSpec::APP) }
  after(:all) { @server&.stop }

  def expected_websocket_messages
    Array.new(UpgradeWriteOrderSpec::COUNT) do |i|
      kind, data = UpgradeWriteOrderSpec.message(i)
      [data, kind == :binary ? :binary : :text]
    end
  end

  def read_websocket_messages(ws, inflater = nil)
    got = []
    Timeout.timeout(30) do
      loop do
        data, type = inflater ? read_deflated(ws, inflater) : ws.read_message(timeout: 10)
        break if data == "end"

        got << [data, type]
      end
    end
    got
  end

  # One message of a permessage-deflate connection (the server sends unfragmented frames).
  def read_deflated(ws, inflater)
    frame = ws.read_frame(timeout: 10)
    data = frame.payload
    data = inflater.inflate(data + "\x00\x00\xff\xff".b) if frame.rsv & 4 != 0
    data.force_encoding(frame.type == :text ? Encoding::UTF_8 : Encoding::BINARY)
    [data, frame.type]
  end

  { "on the worker" => "/", "from an app thread" => "/?thread" }.each do |where, path|
    it "delivers every WebSocket message written #{where}, in order, with its type" do
      ws = RawWebSocket.connect("127.0.0.1", @server.port, path)
      expect(read_websocket_messages(ws)).to eq(expected_websocket_messages)
    ensure
      ws&.close_socket
    end
  end

  it "delivers them in order through permessage-deflate too" do
    ws = RawWebSocket.connect("127.0.0.1", @server.port, "/?thread", extensions: "permessage-deflate")
    expect(ws.headers["sec-websocket-extensions"]).to start_with("permessage-deflate")
    got = read_websocket_messages(ws, Zlib::Inflate.new(-Zlib::MAX_WBITS))
    expect(got).to eq(expected_websocket_messages)
  ensure
    ws&.close_socket
  end

  # The SSE stream of +path+ up to its "end" event, without the response head.
  def sse_body(path)
    s = TCPSocket.new("127.0.0.1", @server.port)
    s.write("GET #{path} HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n\r\n")
    buf = +"".b
    Timeout.timeout(30) do
      buf << s.readpartial(65_536) until buf.end_with?("data: end\n\n")
    end
    buf.split("\r\n\r\n", 2).last
  ensure
    s&.close
  end

  { "a small String" => "/reuse", "a String with a large buffer" => "/reuse?big" }.each do |what, path|
    it "sends what a WebSocket message was when written, though the app changes #{what} after" do
      ws = RawWebSocket.connect("127.0.0.1", @server.port, path)
      got = read_websocket_messages(ws)
      expect(got).to eq(Array.new(UpgradeWriteOrderSpec::COUNT) { |i| ["m#{i}", :text] })
    ensure
      ws&.close_socket
    end

    it "sends what an SSE event was when written, though the app changes #{what} after" do
      events = sse_body(path).split("\n\n")
      expect(events).to eq(Array.new(UpgradeWriteOrderSpec::COUNT) { |i| "data: m#{i}" } + ["data: end"])
    end
  end

  it "frames a long run of small SSE events and one of 8 KiB of line breaks, in order" do
    body = sse_body("/many")
    expected = Array.new(UpgradeWriteOrderSpec::COUNT) do |i|
      i == UpgradeWriteOrderSpec::COUNT / 2 ? "data: \n" * 8193 + "\n" : "data: #{i} #{UpgradeWriteOrderSpec::LINE}\n\n"
    end
    expect(body.bytesize).to be > 400_000
    expect(body).to eq(expected.join + "data: end\n\n")
  end

  it "frames a long run of small WebSocket messages, in order" do
    ws = RawWebSocket.connect("127.0.0.1", @server.port, "/many")
    expected = Array.new(UpgradeWriteOrderSpec::COUNT) do |i|
      [i == UpgradeWriteOrderSpec::COUNT / 2 ? UpgradeWriteOrderSpec::NEWLINES : "#{i} #{UpgradeWriteOrderSpec::LINE}", :text]
    end
    expect(read_websocket_messages(ws)).to eq(expected)
  ensure
    ws&.close_socket
  end

  it "delivers every SSE event in order, data events and named events alike" do
    events = sse_body("/").split("\n\n")
    expected = Array.new(UpgradeWriteOrderSpec::COUNT) do |i|
      kind, data = UpgradeWriteOrderSpec.message(i)
      kind == :binary ? "event: named\nid: #{i}\ndata: n#{i}" : "data: #{data.b}\ndata: line2"
    end
    expect(events).to eq(expected + ["data: end"])
  end
end
