package dev.kiln.jobs.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/** Prints query results as an aligned text table. */
final class Tables {
    private Tables() {}

    static void print(PrintStream out, Dataset<Row> df, int maxRows) {
        String[] columns = df.columns();
        Row[] rows = (Row[]) df.limit(maxRows + 1).collect();
        List<String[]> cells = new ArrayList<>();
        cells.add(columns);
        for (int i = 0; i < Math.min(rows.length, maxRows); i++) {
            String[] line = new String[columns.length];
            for (int c = 0; c < columns.length; c++) {
                Object v = rows[i].get(c);
                line[c] = v == null ? "NULL" : render(v);
            }
            cells.add(line);
        }
        print(out, cells);
        if (rows.length > maxRows) {
            out.println("(only the first " + maxRows + " rows are shown; use --max-rows to see more)");
        } else {
            out.println("(" + rows.length + (rows.length == 1 ? " row)" : " rows)"));
        }
    }

    static void print(PrintStream out, List<String[]> cells) {
        if (cells.isEmpty()) {
            return;
        }
        int[] width = new int[cells.get(0).length];
        for (String[] line : cells) {
            for (int c = 0; c < line.length; c++) {
                width[c] = Math.max(width[c], line[c].length());
            }
        }
        StringBuilder sep = new StringBuilder("+");
        for (int w : width) {
            sep.append("-".repeat(w + 2)).append('+');
        }
        out.println(sep);
        for (int i = 0; i < cells.size(); i++) {
            StringBuilder sb = new StringBuilder("|");
            for (int c = 0; c < width.length; c++) {
                sb.append(' ').append(pad(cells.get(i)[c], width[c])).append(" |");
            }
            out.println(sb);
            if (i == 0) {
                out.println(sep);
            }
        }
        out.println(sep);
    }

    private static String render(Object v) {
        if (v instanceof scala.collection.Map<?, ?> m) {
            return scala.jdk.javaapi.CollectionConverters.asJava(m).toString();
        }
        if (v instanceof scala.collection.Seq<?> s) {
            return scala.jdk.javaapi.CollectionConverters.asJava(s).toString();
        }
        return v.toString();
    }

    private static String pad(String s, int w) {
        return s + " ".repeat(w - s.length());
    }
}
