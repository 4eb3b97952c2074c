"""What artisan prints when a migration fails, read back as one line (no server, no PHP needed)."""
from __future__ import annotations

from plugins.module_utils.migrate.laravel import artisan_error

# Laravel 8's console (Symfony) wraps the exception in a padded block, cutting words at the width.
LARAVEL_8 = """Migrating: 2025_10_02_000000_create_broken_table

In Connection.php line 712:
                                                                               
  SQLSTATE[HY000]: General error: 1005 Can't create table `db_sg_tes`.`broke  
  n_things` (errno: 150 "Foreign key constraint is incorrectly formed") (SQL:  
   alter table `broken_things` add constraint `x` foreign key (`ghost_id`) re  
  ferences `no_such_table` (`id`))                                             
                                                                               

In Connection.php line 501:
                                                                               
  SQLSTATE[HY000]: General error: 1005 Can't create table                      
                                                                               
"""


def test_the_first_exception_block_is_unwrapped_into_one_line():
    line = artisan_error(LARAVEL_8, "", 1)
    assert line == ("SQLSTATE[HY000]: General error: 1005 Can't create table `db_sg_tes`.`broken_things` (errno: 150 "
                    "\"Foreign key constraint is incorrectly formed\") (SQL: alter table `broken_things` add constraint `x` "
                    "foreign key (`ghost_id`) references `no_such_table` (`id`))")


def test_other_shapes_fall_back_to_the_exception_line_or_the_last_line():
    newer = "\n   Illuminate\\Database\\QueryException \n\n  SQLSTATE[42S02]: Base table or view not found: 1146 x\n"
    assert artisan_error(newer, "", 1) == "SQLSTATE[42S02]: Base table or view not found: 1146 x"
    assert artisan_error("", "PHP Parse error: syntax error, unexpected token \"}\" in x.php on line 9\n", 255).startswith("PHP Parse error")
    assert artisan_error("", "", 1) == "artisan exited with code 1 and printed nothing"
    assert len(artisan_error("x" * 5000, "", 1)) == 600
