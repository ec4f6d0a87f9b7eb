# frozen_string_literal: true

# What this JVM holds right now: live Java threads, open file descriptors, and heap in use
# after a full collection. For specs that check a server gives back what its clients took.
module JvmResources
  Snapshot = Struct.new(:threads, :fds, :heap, :fd_kinds, keyword_init: true) do
    def to_s
      format("%<t>d threads, %<f>d fds, %<h>.1f MiB heap", t: threads, f: fds, h: heap / 1024.0**2)
    end

    # The kinds of fds this one has more of than `before` ("socket" => 3), to tell what leaked.
    def more_fds_than(before)
      fd_kinds.filter_map { |kind, n| [kind, n - before.fd_kinds.fetch(kind, 0)] if n > before.fd_kinds.fetch(kind, 0) }.to_h
    end
  end

  module_function

  def snapshot
    fds = Dir.children("/proc/self/fd")
    Snapshot.new(threads: java.lang.management.ManagementFactory.thread_mx_bean.thread_count,
                 fds: fds.size, fd_kinds: fds.map { |fd| fd_kind(fd) }.tally, heap: heap_after_gc)
  end

  # "socket", "pipe", "anon_inode:[eventpoll]" or the file's path; nil once it is gone.
  def fd_kind(fd)
    File.readlink("/proc/self/fd/#{fd}").sub(/:\[\d+\]\z/, "")
  rescue SystemCallError
    nil
  end

  # Two collections: the first may only queue finalizers and Cleaners (Netty's direct buffers,
  # closed sockets) whose referents the second frees.
  def heap_after_gc
    2.times do
      java.lang.System.gc
      sleep 0.2
    end
    java.lang.management.ManagementFactory.memory_mx_bean.heap_memory_usage.used
  end
end
