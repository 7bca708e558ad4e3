use strict; use warnings;
use Test::More;
ok(1, 'passes');
is(1+1, 3, 'adds wrongly');
SKIP: { skip 'no network', 1; ok(0, 'skipped'); }
TODO: { local $TODO = 'not done'; ok(0, 'todo test'); }
subtest 'grouped' => sub { plan tests => 2; ok(1, 'inner one'); ok(1, 'inner two'); };
done_testing;
