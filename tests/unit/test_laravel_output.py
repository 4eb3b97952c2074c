"""What artisan prints when a migration fails, read back as one line (no server, no PHP needed)."""
from __future__ import annotations

from plugins.module_utils.migrate.laravel import artisan_error

# Laravel 8's console (Symfony) prints the exception in a block padded to one width, the message cut into
# pieces of exactly that width (mid-word, and at spaces that must survive).
WIDTH = 79
MESSAGE = ("SQLSTATE[HY000]: General error: 1005 Can't create table `db_sg_test`.`broken_things` (errno: 150 "
           "\"Foreign key constraint is incorrectly formed\") (SQL: alter table `broken_things` add constraint `x` "
           "foreign key (`ghost_id`) references `no_such_table` (`id`))")


def block(message):
    chunks = [message[i:i + WIDTH - 4] for i in range(0, len(message), WIDTH - 4)]
    return ["".ljust(WIDTH)] + [f"  {chunk}".ljust(WIDTH) for chunk in chunks] + ["".ljust(WIDTH)]


LARAVEL_8 = "\n".join([
    "Migrating: 2025_10_02_000000_create_broken_table", "",
    "In Connection.php line 712:", *block(MESSAGE), "",
    "In Connection.php line 501:", *block("SQLSTATE[HY000]: General error: 1005 Can't create table"), "",
])


def test_the_first_exception_block_is_unwrapped_into_one_line():
    assert any(line[2:].startswith(" ") for line in block(MESSAGE)[1:-1])  # a piece cut just before a space
    assert artisan_error(LARAVEL_8, "", 1) == MESSAGE


def test_other_shapes_fall_back_to_the_exception_line_or_the_last_line():
    newer = "\n   Illuminate\\Database\\QueryException \n\n  SQLSTATE[42S02]: Base table or view not found: 1146 x\n"
    assert artisan_error(newer, "", 1) == "SQLSTATE[42S02]: Base table or view not found: 1146 x"
    assert artisan_error("", "PHP Parse error: syntax error, unexpected token \"}\" in x.php on line 9\n", 255).startswith("PHP Parse error")
    assert artisan_error("", "", 1) == "artisan exited with code 1 and printed nothing"
    assert len(artisan_error("x" * 5000, "", 1)) == 600
