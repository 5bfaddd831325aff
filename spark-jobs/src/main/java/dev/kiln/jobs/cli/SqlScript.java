package dev.kiln.jobs.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a SQL script into statements on the semicolons Spark's parser would see as separators: not inside
 * string literals ({@code '...'}, {@code "..."}, with backslash escapes), quoted identifiers ({@code `...`}, a
 * doubled backtick escapes one), {@code --} line comments or {@code /* ... *}{@code /} block comments (nested, as
 * Spark allows). Statements that hold nothing but comments are dropped.
 */
final class SqlScript {
    private SqlScript() {}

    static List<String> split(String sql) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean code = false; // the current statement has something besides comments and blanks
        int n = sql.length();
        int i = 0;
        while (i < n) {
            char ch = sql.charAt(i);
            char next = i + 1 < n ? sql.charAt(i + 1) : 0;
            if (ch == '-' && next == '-') {
                int end = sql.indexOf('\n', i);
                end = end < 0 ? n : end;
                cur.append(sql, i, end);
                i = end;
            } else if (ch == '/' && next == '*') {
                int depth = 0;
                int j = i;
                while (j < n) {
                    if (sql.startsWith("/*", j)) {
                        depth++;
                        j += 2;
                    } else if (sql.startsWith("*/", j)) {
                        depth--;
                        j += 2;
                        if (depth == 0) {
                            break;
                        }
                    } else {
                        j++;
                    }
                }
                cur.append(sql, i, Math.min(j, n));
                i = Math.min(j, n);
            } else if (ch == '\'' || ch == '"' || ch == '`') {
                int j = i + 1;
                while (j < n) {
                    char c = sql.charAt(j);
                    if (c == '\\' && ch != '`') {
                        j += 2;
                    } else if (c == ch) {
                        if (ch == '`' && j + 1 < n && sql.charAt(j + 1) == '`') {
                            j += 2;
                        } else {
                            j++;
                            break;
                        }
                    } else {
                        j++;
                    }
                }
                cur.append(sql, i, Math.min(j, n));
                i = Math.min(j, n);
                code = true;
            } else if (ch == ';') {
                if (code) {
                    out.add(cur.toString().trim());
                }
                cur.setLength(0);
                code = false;
                i++;
            } else {
                cur.append(ch);
                code |= !Character.isWhitespace(ch);
                i++;
            }
        }
        if (code) {
            out.add(cur.toString().trim());
        }
        return out;
    }
}
