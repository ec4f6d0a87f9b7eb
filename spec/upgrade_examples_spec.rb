# frozen_string_literal: true

require "spec_helper"
require "json"
require "open3"

# The article's examples (examples/*/config.ru, verbatim) served by bin/piston and driven end to
# end: first with the raw WebSocket client, then with the article's own browser snippets
# (spec/browser/*.js, verbatim) in headless Chromium.
RSpec.describe "the article's examples" do
  root = File.expand_path("..", __dir__)
  example_path = ->(name) { File.join(root, "examples", name, "config.ru") }

  describe "callbacks (example 2)" do
    it "opens WebSocket and SSE connections and prints each callback", timeout: 120 do
      piston = start_piston(example_path.call("callbacks"))
      expect(RawHttp.get(piston.host, piston.port, "/").body).to eq("Hello World!")
      ArticleExamples.callbacks(piston)
    end
  end

  describe "timer (example 3)" do
    it "broadcasts the time every second from a background thread, and announcements", timeout: 120 do
      ArticleExamples.timer(start_piston(example_path.call("timer")))
    end
  end

  describe "chat (example 4)" do
    it "joins, chats and leaves through pub/sub", timeout: 120 do
      piston = start_piston(example_path.call("chat"))
      ArticleExamples.chat(piston)
      # SSE is refused by this example: a plain response
      expect(RawHttp.get(piston.host, piston.port, "/").body).to eq("Hello World!")
    end
  end

  describe "in headless Chromium, with the article's browser snippets" do
    browser_dir = File.join(root, "spec", "browser")
    usable = File.executable?("/usr/bin/chromium") && File.directory?(File.join(root, "node_modules", "playwright-core"))

    # 3000 is also Piston's default port: any server on the machine may take it at any time, so
    # it is looked at before each example (not once at load), waiting a little for one stopping.
    def port_3000_free?(wait: 10)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + wait
      begin
        TCPServer.new("127.0.0.1", 3000).close
        true
      rescue SystemCallError
        return false if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep 0.2
        retry
      end
    end

    before do
      skip "needs /usr/bin/chromium and `npm install`" unless usable
      skip "port 3000 (the port the article's snippets use) is busy" unless port_3000_free?
    end

    # Console output of the page http://localhost:3000/ after running the snippets.
    def browse(seconds, *snippets, browser_dir:)
      out, err, status = Open3.capture3("node", File.join(browser_dir, "console.js"), "http://localhost:3000/",
                                        seconds.to_s, *snippets.map { |s| File.join(browser_dir, s) })
      raise "browser run failed: #{err}" unless status.success?

      out.lines.map { |l| JSON.parse(l) }
    end

    it "callbacks: the SSE and WebSocket snippets reach the callbacks", timeout: 180 do
      piston = start_piston(example_path.call("callbacks"), port: 3000)
      console = browse(3, "sse.js", "websocket.js", browser_dir: browser_dir)
      expect(console.grep(/pageerror/)).to be_empty
      piston.wait_for_output(/\* Incoming data: Hi!/, 10)
      # The two connections' callbacks run on different workers: the SSE one may open last.
      piston.wait_for_output(/(\* Push connection opened\..*){2}/m, 10)
      expect(piston.output.scan("* Push connection opened.").size).to eq(2)
    end

    it "timer: the WebSocket snippet logs the time and the announcement", timeout: 180 do
      start_piston(example_path.call("timer"), port: 3000)
      console = browse(3, "websocket.js", browser_dir: browser_dir)
      expect(console).to include("Special Announcement: Hi!")
      expect(console.grep(/\AThe time is: /).size).to be >= 1
    end

    it "chat: the chat snippet logs the join and the message", timeout: 180 do
      start_piston(example_path.call("chat"), port: 3000)
      console = browse(3, "chat.js", browser_dir: browser_dir)
      expect(console.first(2)).to eq(["Mitchel joined the chat.", "Mitchel: Yo!"])
    end
  end
end
