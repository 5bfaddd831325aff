package dev.kiln.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.jobs.cli.KilnCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every Kiln command line shown in README.md and docs/ (in code blocks and inline code: {@code bin/kiln ...},
 * {@code kiln ...}, and the arguments after {@code kiln-jobs.jar} of a spark-submit line) is parsed by the command
 * tree it names, with {@code --help} appended: an unknown command or option fails the test, so the docs cannot name
 * a command that does not exist. No Spark starts (help is answered before any command runs).
 */
class DocumentedCommandsTest {
    private static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
    private static final Pattern INLINE = Pattern.compile("`((?:bin/)?kiln [^`]+)`");

    @Test
    void everyDocumentedCommandParses() throws IOException {
        List<Path> docs = new ArrayList<>(List.of(REPO.resolve("README.md")));
        try (Stream<Path> s = Files.list(REPO.resolve("docs"))) {
            s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
        }
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (Path doc : docs) {
            for (Documented d : commands(doc)) {
                checked++;
                List<String> p = problems(d.args());
                if (!p.isEmpty()) {
                    failures.add(REPO.relativize(doc) + ":" + d.line() + ": " + String.join(" ", d.args()) + " --help: " + p);
                }
            }
        }
        assertTrue(checked >= 20, "found only " + checked + " documented commands; is the extraction broken?");
        assertEquals(List.of(), failures);
    }

    @Test
    void anUnknownCommandFails() {
        assertEquals(1, problems(List.of("kiln", "no-such-verb")).size());
        assertEquals(1, problems(List.of("kiln", "models", "no-such-verb")).size());
        assertEquals(1, problems(List.of("kiln", "train", "flight_delay", "--no-such-flag")).size());
        assertEquals(1, problems(List.of("kiln", "bench", "pipeline", "--no-such-flag")).size());
        assertEquals(List.of(), problems(List.of("kiln", "train", "flight_delay")));
        assertEquals(List.of(), problems(List.of("kiln", "bench", "pipeline", "--scale", "N")));
        assertEquals(List.of(), problems(List.of("kiln", "--env", "cluster", "sql", "SELECT 1")));
    }

    record Documented(int line, List<String> args) {}

    /** Kiln's command lines in one Markdown file, each as its arguments with "kiln" first. */
    static List<Documented> commands(Path doc) {
        List<String> lines;
        try {
            lines = Files.readAllLines(doc);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Documented> out = new ArrayList<>();
        boolean fenced = false;
        boolean inBlock = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.strip().startsWith("```")) {
                // Shell blocks only: a block of another language (or a plain listing) holds no command lines.
                String info = line.strip().substring(3).strip();
                fenced = !fenced && List.of("bash", "sh", "shell", "console").contains(info);
                inBlock = !inBlock;
                continue;
            }
            if (inBlock && !fenced) {
                continue;
            }
            if (fenced) {
                int at = i;
                StringBuilder full = new StringBuilder(line);
                while (full.toString().endsWith("\\") && i + 1 < lines.size()) {
                    full.setLength(full.length() - 1);
                    full.append(' ').append(lines.get(++i).strip());
                }
                kilnArgs(full.toString()).ifPresent(a -> out.add(new Documented(at + 1, a)));
            } else {
                Matcher m = INLINE.matcher(line);
                int at = i + 1;
                while (m.find()) {
                    kilnArgs(m.group(1)).ifPresent(a -> out.add(new Documented(at, a)));
                }
            }
        }
        return out;
    }

    /** The words of a shell line from its kiln command on, up to a pipe, redirect, comment or next command. */
    static java.util.Optional<List<String>> kilnArgs(String line) {
        List<String> words = shellWords(line);
        int start = -1;
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            if (w.equals("bin/kiln") || w.endsWith("/bin/kiln") || w.equals("kiln") && (i == 0 || isEnv(words, i))) {
                start = i + 1;
                break;
            }
            if (w.endsWith("kiln-jobs.jar") && i > 0 && words.subList(0, i).stream().anyMatch(x -> x.endsWith("spark-submit"))) {
                start = i + 1;
                break;
            }
        }
        if (start < 0) {
            return java.util.Optional.empty();
        }
        List<String> args = new ArrayList<>(List.of("kiln"));
        for (String w : words.subList(start, words.size())) {
            if (List.of("|", "||", "&&", ";", "&", "#").contains(w) || w.startsWith(">") || w.startsWith("2>") || w.startsWith("<")) {
                break;
            }
            args.add(w);
        }
        return args.size() == 1 ? java.util.Optional.empty() : java.util.Optional.of(args);
    }

    private static boolean isEnv(List<String> words, int i) {
        return words.subList(0, i).stream().allMatch(w -> w.matches("[A-Z_][A-Z0-9_]*=.*") || w.equals("$"));
    }

    /** Splits a shell line into words, honouring single and double quotes. */
    static List<String> shellWords(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean inWord = false;
        char quote = 0;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                } else {
                    w.append(c);
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
                inWord = true;
            } else if (Character.isWhitespace(c)) {
                if (inWord) {
                    out.add(w.toString());
                    w.setLength(0);
                    inWord = false;
                }
            } else {
                w.append(c);
                inWord = true;
            }
        }
        if (inWord) {
            out.add(w.toString());
        }
        return out;
    }

    /**
     * What is wrong with "kiln args... --help" (bench lines through BenchCommand's tree, the rest through KilnCommand's),
     * parsed without running. A value written as a placeholder (FILE, N, &lt;id&gt;) may fail its type conversion; an
     * unknown command or option never passes.
     */
    static List<String> problems(List<String> kilnArgs) {
        // "..." in a documented line stands for "and so on", not for an argument.
        List<String> args = kilnArgs.subList(1, kilnArgs.size()).stream().filter(w -> !w.equals("...")).toList();
        List<String> found = !args.isEmpty() && args.get(0).equals("bench")
                ? KilnCommand.problems(new CommandLine(new BenchCommand()), args.subList(1, args.size()).toArray(String[]::new))
                : KilnCommand.problems(args.toArray(String[]::new));
        boolean placeholders = args.stream().anyMatch(DocumentedCommandsTest::isPlaceholder);
        return found.stream().filter(p -> !(placeholders && p.startsWith("Invalid value for option"))).toList();
    }

    static boolean isPlaceholder(String word) {
        String value = word.contains("=") ? word.substring(word.indexOf('=') + 1) : word;
        return value.matches("[A-Z][A-Z_]*(,[A-Z][A-Z_]*)*") || value.matches(".*<[^>]+>.*") || value.contains("...");
    }
}
