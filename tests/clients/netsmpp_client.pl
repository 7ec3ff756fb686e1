#!/usr/bin/perl
# A Net::SMPP transceiver for the interoperability tests: submits a short message, a long one as
# two parts with SAR TLVs and one in message_payload, then reads and acknowledges receipts.
# Prints one tab-separated line per event: SUBMIT tag status id | RECEIPT tlv-id text tlvs.
# Usage: netsmpp_client.pl PORT INTERFACE_VERSION(hex, 34 or 33) RECEIPTS_EXPECTED
use strict;
use warnings;
use Net::SMPP;

my ($port, $version, $expected) = @ARGV;
$| = 1;
my $smpp = Net::SMPP->new_transceiver(
    '127.0.0.1', port => $port, system_id => 'demo', password => 'demo1234',
    interface_version => hex($version), async => 1, timeout => 20,
) or die "bind failed: $!";
my $bind = $smpp->read_pdu() or die "no bind response";
print join("\t", 'BIND', $bind->{status}, join(',', sort grep { /^\d+$/ } keys %$bind)), "\n";

my %tag_of;
sub submit {
    my ($tag, %args) = @_;
    my $seq = $smpp->submit_sm(
        source_addr_ton => 0, source_addr_npi => 1, source_addr => '10690000',
        dest_addr_ton => 1, dest_addr_npi => 1, registered_delivery => 1, %args);
    $tag_of{$seq} = $tag;
}

submit('short', destination_addr => '13800008888', short_message => 'hello from Net::SMPP');
if (hex($version) >= 0x34) {
    my $text = "\x{3010}\x{793a}\x{4f8b}\x{3011}" x 30;    # 120 UCS2 characters: two parts
    require Encode;
    my $ucs2 = Encode::encode('UTF-16BE', $text);
    for my $i (1, 2) {
        submit("sar$i", destination_addr => '13900008888', data_coding => 8,
               short_message => substr($ucs2, ($i - 1) * 134, 134),
               sar_msg_ref_num => pack('n', 4242), sar_total_segments => pack('C', 2),
               sar_segment_seqnum => pack('C', $i));
    }
    submit('payload', destination_addr => '13700008888', short_message => '',
           message_payload => 'a long text in message_payload ' x 12);
}

my $receipts = 0;
while ($receipts < $expected) {
    my $pdu = $smpp->read_pdu() or die "connection closed";
    if ($pdu->{cmd} == 0x80000004) {
        print join("\t", 'SUBMIT', $tag_of{$pdu->{seq}} // '?', $pdu->{status}, $pdu->{message_id} // ''), "\n";
    } elsif ($pdu->{cmd} == 0x00000005) {
        $smpp->deliver_sm_resp(seq => $pdu->{seq}, message_id => '');
        my $tlvs = join(',', sort grep { /^\d+$/ } keys %$pdu);
        my $rid = $pdu->{receipted_message_id} // '';
        $rid =~ s/\0$//;
        print join("\t", 'RECEIPT', $rid, $pdu->{short_message}, $tlvs), "\n";
        $receipts++;
    } elsif ($pdu->{cmd} == 0x00000015) {
        $smpp->enquire_link_resp(seq => $pdu->{seq});
    }
}
$smpp->unbind();
print "DONE\n";
