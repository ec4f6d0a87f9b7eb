# frozen_string_literal: true

require "jruby"

module Piston
  # Runs a config.ru inside `Builder.new { ... }`, as Rack::Builder does, but parsed as a script
  # rather than handed to eval: JRuby never compiles the blocks of eval'd code, so an app written
  # as `run ->(env) { ... }` would run in JRuby's interpreter for as long as the server runs.
  module ConfigFile
    UTF_8_BOM = "\xEF\xBB\xBF".b

    # The builder `builder_class.new { <the file> }` made, ready for `to_app`.
    def self.evaluate(path, builder_class)
      # Bytes as they are: the parser reads the encoding from a magic comment, as for any file.
      source = File.binread(path)
      source.delete_prefix!(UTF_8_BOM)
      source.sub!(/^__END__\r?$.*\z/m, "")
      script, first_line = wrap(source, "::#{builder_class.name}.new { ".b)
      runtime = JRuby.runtime
      parsed = runtime.parse_file(path, java.io.ByteArrayInputStream.new(script.to_java_bytes), nil, first_line)
      builder = runtime.run_interpreter(runtime.current_context, parsed, runtime.top_self)
      return builder if builder.is_a?(builder_class)

      raise ArgumentError, "#{path} did not run to its end (a `return` or `break` at its top level?)"
    end

    # The script, and the number the parser gives its first line minus one. The opening goes on
    # the line of the first code, after the leading comments (a magic comment such as
    # frozen_string_literal only counts before any code), so every line keeps its number.
    def self.wrap(source, opening)
      lines = source.lines
      code = first_code_line(lines)
      # No code at all: the opening takes a line of its own, numbered 0.
      return ["#{opening}\n#{source}\n}", -1] unless code

      lines[code] = opening + lines[code]
      ["#{lines.join}\n}", 0]
    end

    # Index of the first line that is not blank, a comment, or inside =begin ... =end.
    def self.first_code_line(lines)
      in_block_comment = false
      lines.index do |line|
        if in_block_comment
          in_block_comment = !line.start_with?("=end")
          false
        elsif line.start_with?("=begin")
          in_block_comment = true
          false
        else
          !line.strip.empty? && !line.lstrip.start_with?("#")
        end
      end
    end
  end
end
