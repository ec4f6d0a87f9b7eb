# frozen_string_literal: true

require "spec_helper"
require "digest"
require "socket"

# On the native transports (epoll, io_uring) rack.hijack hands the app a real socket (one end of a UNIX socket
# pair, relayed to the connection by the server), so IO.select, nio4r and fileno work on it.
RSpec.describe "rack.hijack onto a real socket" do
  SOCKET_EVENTS = Queue.new
  BIG = 32 * 1024 * 1024
  CHUNK = ("0123456789abcdef" * 4096).b # 64 KiB

  SOCKET_APP = lambda do |env|
    case env["PATH_INFO"]
    when "/echo" # echoes until the client's end of stream, then says bye and closes
      io = env["rack.hijack"].call
      SOCKET_EVENTS << { class: io.class, io: io.is_a?(IO), same: env["rack.hijack_io"].equal?(io),
                         fileno: io.fileno }
      Thread.new do
        loop do
          ready = IO.select([io], nil, nil, 10) or break
          data = ready[0][0].read_nonblock(65_536, exception: false)
          break if data.nil?
          next if data == :wait_readable

          io.write(data)
        end
        SOCKET_EVENTS << :eof
        io.write("bye")
        io.close
      end
    when "/send" # writes BIG bytes, however fast the client reads
      io = env["rack.hijack"].call
      Thread.new do
        sent = 0
        while sent < BIG
          io.write(CHUNK)
          sent += CHUNK.bytesize
          SOCKET_EVENTS << sent if (sent % (1024 * 1024)).zero?
        end
        io.close
      end
    when "/receive" # sleeps first, then reads to the end and answers with the digest
      io = env["rack.hijack"].call
      Thread.new do
        SOCKET_EVENTS.pop # told when to start reading
        digest = Digest::SHA256.new
        count = 0
        while (data = io.read(65_536))
          digest << data
          count += data.bytesize
        end
        io.write("#{count} #{digest.hexdigest}")
        io.close
      end
    when "/partial"
      [200, { "rack.hijack" => lambda { |io|
        SOCKET_EVENTS << io.is_a?(IO)
        io.write("partial: #{IO.select(nil, [io], nil, 5) ? 'writable' : 'stuck'}")
        io.close
      } }, []]
    else [404, {}, []]
    end.then { |response| env["rack.hijack_io"] ? [200, {}, []] : response }
  end

  before(:all) do
    @server = serve(SOCKET_APP, threads: 4)
    skip "the real-socket hijack needs a native transport" unless %w[epoll io_uring].include?(@server.piston.transport)
  end
  after(:all) { @server&.stop }
  before { SOCKET_EVENTS.clear }

  def event(timeout = 5)
    Timeout.timeout(timeout) { SOCKET_EVENTS.pop }
  end

  def connect(path, extra = "")
    sock = TCPSocket.new("127.0.0.1", @server.port)
    sock.write("GET #{path} HTTP/1.1\r\nHost: x\r\n\r\n#{extra}")
    sock
  end

  def read_to_eof(sock, timeout = 5)
    out = +"".b
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    loop do
      left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
      raise "no end of stream within #{timeout}s (got #{out.bytesize} bytes)" if left <= 0
      next unless IO.select([sock], nil, nil, left)

      data = sock.read_nonblock(65_536, exception: false)
      return out if data.nil?

      out << data unless data == :wait_readable
    end
  end

  def open_fds
    Dir.children("/proc/self/fd").size
  end

  it "gives the app a real IO that works with IO.select, both ways, and half-closes" do
    sock = connect("/echo", "sent with the request ")
    info = event
    expect(info).to include(io: true, same: true, class: UNIXSocket)
    expect(info[:fileno]).to be_an(Integer)
    sock.write("and after")
    sock.close_write # the app's read sees the end of stream, it can still write
    expect(read_to_eof(sock)).to eq("sent with the request and afterbye")
    expect(event).to eq(:eof)
  ensure
    sock&.close
  end

  it "passes on every byte a client sends as the hijack returns, then its end of stream" do
    200.times do |round|
      sock = connect("/echo", "sent with the request ")
      event
      sock.write("and after")
      sock.close_write
      expect(read_to_eof(sock)).to eq("sent with the request and afterbye"), "round #{round}"
      expect(event).to eq(:eof)
    ensure
      sock&.close
    end
  end

  it "shows the client's close to the app as end of stream" do
    sock = connect("/echo")
    event
    sock.write("x")
    expect(sock.readpartial(10)).to eq("x")
    sock.close
    expect(event).to eq(:eof)
  end

  it "shows the app's close to the client as end of stream" do
    sock = connect("/echo")
    event
    sock.close_write
    expect(read_to_eof(sock)).to eq("bye")
  ensure
    sock&.close
  end

  it "holds back an app that writes faster than the client reads" do
    sock = connect("/send")
    sleep 1.5 # the client reads nothing: the app's writes must stop well short of BIG
    written = 0
    written = SOCKET_EVENTS.pop until SOCKET_EVENTS.empty?
    expect(written).to be < 16 * 1024 * 1024
    digest = Digest::SHA256.new
    total = 0
    loop do
      data = sock.readpartial(65_536)
      digest << data
      total += data.bytesize
    rescue EOFError
      break
    end
    expect(total).to eq(BIG)
    expect(digest.hexdigest).to eq(Digest::SHA256.hexdigest(CHUNK * (BIG / CHUNK.bytesize)))
  ensure
    sock&.close
  end

  it "holds back a client that writes faster than the app reads" do
    sock = connect("/receive")
    sleep 0.3
    accepted = 0
    payload = CHUNK * 16
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 1.5
    while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline && accepted < BIG
      n = sock.write_nonblock(payload, exception: false)
      if n == :wait_writable
        IO.select(nil, [sock], nil, 0.1)
      else
        accepted += n
      end
    end
    expect(accepted).to be < 16 * 1024 * 1024
    SOCKET_EVENTS << :go
    writer = Thread.new do
      sent = accepted
      sock.write(payload.byteslice(0, (BIG - sent) % payload.bytesize)) if (BIG - sent) % payload.bytesize != 0
      sent += (BIG - sent) % payload.bytesize
      while sent < BIG
        sock.write(payload)
        sent += payload.bytesize
      end
      sock.close_write
    end
    answer = read_to_eof(sock, 30)
    writer.join
    count, = answer.split
    expect(count.to_i).to eq(BIG)
  ensure
    sock&.close
  end

  it "gives a partial hijack a real IO too" do
    sock = connect("/partial")
    response = read_to_eof(sock)
    expect(response).to start_with("HTTP/1.1 200")
    expect(response).to end_with("\r\n\r\npartial: writable")
    expect(event).to be(true)
  ensure
    sock&.close
  end

  it "leaves no file descriptor open after many hijacks" do
    before = open_fds
    40.times do
      sock = connect("/echo")
      event
      sock.write("ping")
      expect(sock.readpartial(10)).to eq("ping")
      sock.close
      expect(event).to eq(:eof)
    end
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 5
    sleep 0.05 while open_fds > before + 2 && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
    expect(open_fds).to be <= before + 2
  end
end
