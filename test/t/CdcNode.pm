# A PostgreSQL::Test::Cluster node set up for cdc_plugin: logical WAL, and
# output_plugin_libraries listing cdc_plugin on servers that have that
# setting (they only let replication users decode with listed plugins;
# servers without it would refuse to start with it).
package CdcNode;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;

# Creates and starts a node named $name.
sub start_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);

	$node->init(allows_streaming => 'logical');
	my $settings = `postgres --describe-config`;
	$node->append_conf('postgresql.conf',
		"output_plugin_libraries = 'pgoutput, test_decoding, cdc_plugin'\n")
	  if $settings =~ /^output_plugin_libraries\t/m;
	$node->start;
	return $node;
}

1;
