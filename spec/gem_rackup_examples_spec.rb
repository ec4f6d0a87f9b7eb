# frozen_string_literal: true

require "spec_helper"

# The article's examples as its readers run them: `rackup -s piston config.ru` from the installed
# gem, in rackup's default (development) environment, so Rack::Lint checks every request and
# response. An upgrade answered `[0, {}, []]` must reach the client as WebSocket or SSE; an
# ordinary response is still Lint's to judge.
RSpec.describe "the article's examples under rackup -s piston in development", timeout: 150 do
  def rackup(example)
    config = File.join(File.expand_path("..", __dir__), "examples", example, "config.ru")
    start_piston(command: [*PistonSpec::GemInstall.jruby, PistonSpec::GemInstall.rackup_bin, "-s", "piston",
                           "-o", "127.0.0.1", "-p", "0", config],
                 env: PistonSpec::GemInstall.env, timeout: 90)
  end

  # The examples answer with 'Content-Type', which Rack 3 forbids (header names are lower case):
  # Lint says so with a 500 under rack 3, and lets it through under rack 2.
  def expect_hello_judged_by_lint(server)
    res = RawHttp.get(server.host, server.port, "/")
    if Rack.release.start_with?("2.")
      expect([res.status, res.body]).to eq([200, "Hello World!"])
    else
      expect(res.status).to eq(500)
      server.wait_for_output(/uppercase character in header name: Content-Type/, 10)
    end
  end

  it "hello (example 1): Lint is in the chain and judges the plain response" do
    server = rackup("hello")
    expect_hello_judged_by_lint(server)
    expect(server.output).not_to include("Status must be")
  end

  it "callbacks (example 2): WebSocket and SSE open, get data and close through Lint" do
    server = rackup("callbacks")
    ArticleExamples.callbacks(server)
    # rackup's ContentLength middleware adds content-length: 0 to the 200 Lint saw; not sent
    events = ArticleExamples.sse(server)
    head = events.readpartial(4096)
    events.close
    expect(head).to start_with("HTTP/1.1 200 OK\r\n")
    expect(head.downcase).to include("content-type: text/event-stream")
    expect(head.downcase).not_to include("content-length")
    expect_hello_judged_by_lint(server)
    expect(server.output).not_to include("Status must be")
  end

  it "timer (example 3): the time and announcements reach every WebSocket" do
    server = rackup("timer")
    ArticleExamples.timer(server)
    expect(server.output).not_to include("Status must be")
  end

  it "chat (example 4): join, chat and leave through pub/sub" do
    server = rackup("chat")
    ArticleExamples.chat(server)
    expect(server.output).not_to include("Status must be")
  end
end
