import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InsertRowCounter } from './insert-rows.js';

// MariaDB's tools write one row per line, MySQL's one statement per line; strings hold the dump's escapes.
const MARIADB = [
  'CREATE TABLE `s` (`id` int, `t` text);',
  'LOCK TABLES `s` WRITE;',
  'INSERT INTO `s` VALUES',
  "(1,'a),(b'),",
  "(2,'it\\'s \\\\ x'),",
  '(3,NULL),',
  "(4,'ends with backslash \\\\'),",
  "(5,'line\\nbreak; (not a row)');",
  'UNLOCK TABLES;',
  'INSERT INTO `we``ird` VALUES',
  '(1,0x00FF,\'{\\"a\\":1}\');',
  '',
].join('\n');
const MYSQL =
  "-- dump\nINSERT INTO `t` VALUES (1,'x'),(2,'),(,'),(3,'\\''),(4,NULL);\nINSERT INTO `t` VALUES " +
  "(5,'y');\nINSERT INTO `empty_next` VALUES (1,'z');\n";

function count(text: string, size: number): [string, number][] {
  const bytes = Buffer.from(text);
  const c = new InsertRowCounter();
  for (let o = 0; o < bytes.length; o += size) c.feed(bytes.subarray(o, o + size));
  return [...c.rows];
}

describe('INSERT row counter', () => {
  it('counts tuples in both dump styles whatever the chunk boundaries, quotes, escapes and parentheses in strings', () => {
    for (const size of [1, 2, 3, 5, 17, 100, 1 << 20]) {
      assert.deepEqual(
        count(MARIADB, size),
        [
          ['s', 5],
          ['we`ird', 1],
        ],
        `MariaDB style, chunks of ${size}`,
      );
      assert.deepEqual(
        count(MYSQL, size),
        [
          ['t', 5],
          ['empty_next', 1],
        ],
        `MySQL style, chunks of ${size}`,
      );
    }
  });
});
