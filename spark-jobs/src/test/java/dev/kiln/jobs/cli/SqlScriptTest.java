package dev.kiln.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** kiln sql -f: statements split where Spark's parser would split them, not inside strings or comments. */
class SqlScriptTest {
    @Test
    void aQuoteInALineCommentIsNotAQuote() {
        assertEquals(List.of("-- don't stop here\nSELECT 1", "SELECT 2"), SqlScript.split("-- don't stop here\nSELECT 1;\nSELECT 2;"));
    }

    @Test
    void semicolonsInsideCommentsStringsAndIdentifiersDoNotSplit() {
        String sql = "SELECT 'a;b' AS x, \"c;d\" AS `e;f`; /* one; two 'three */ SELECT 4 -- five; six\n;"
                + " SELECT 'it\\'s; fine'; SELECT `a``;b` FROM t";
        assertEquals(List.of("SELECT 'a;b' AS x, \"c;d\" AS `e;f`", "/* one; two 'three */ SELECT 4 -- five; six",
                "SELECT 'it\\'s; fine'", "SELECT `a``;b` FROM t"), SqlScript.split(sql));
    }

    @Test
    void nestedBlockCommentsAndCommentOnlyTailsAreHandled() {
        assertEquals(List.of("SELECT 1 /* a /* b; */ c; */"), SqlScript.split("SELECT 1 /* a /* b; */ c; */;\n-- the end; really\n"));
        assertEquals(List.of(), SqlScript.split("  ;\n-- nothing here\n/* nor; here */ ;"));
    }
}
