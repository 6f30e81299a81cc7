<#
.SYNOPSIS
Sends junk datagrams to kgdboe's UDP port (a lab's DebugPort on 127.0.0.1).

.DESCRIPTION
Every datagram is one of these kinds, round-robin with random contents (a pool of 300 distinct
datagrams, sent in turn):
  empty, one byte, random binary, oversized (fragmented by the time it reaches the guest),
  GDB-looking packets with a wrong checksum, packets with a non-hex checksum, over-long
  packets (longer than the stub's 1024-byte buffer), and bursts of protocol characters
  (+ - 0x03 # }).
None of them holds a complete GDB packet with a right checksum, alone or run together with the
next one: '$' only ever starts a packet whose own checksum is made wrong on purpose (or whose
body is longer than the stub's buffer), and random data carries neither '$' nor '#'. So a stranger's junk must never start a
session (kgdboe only attaches on a real packet), and junk from the attached peer only ever
reaches the stub as garbage, never as a command.

With -AsPeer the script is itself the debugger: it breaks in with a real '$?#3f', sends the junk
from the same port (so it reaches the stopped kernel's stub), then detaches with '$D#44' and
waits for 'OK'. Without it, the junk comes from a fresh port that is not attached.

Prints one line: "sent N datagrams (kinds: ...)"; with -AsPeer also "detached".
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [int] $Port,
    [int] $Count = 10000,
    [switch] $AsPeer,
    [int] $Seed = 1,
    [int] $TimeoutSeconds = 60
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$random = [Random]::new($Seed)
$udp = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, 0))
$udp.Connect([System.Net.IPAddress]::Loopback, $Port)
$ascii = [Text.Encoding]::ASCII

function Get-Checksum([string] $Body) {
    $sum = 0
    foreach ($c in $ascii.GetBytes($Body)) { $sum = ($sum + $c) % 256 }
    $sum
}

function New-RandomBytes([int] $Length) {
    $bytes = [byte[]]::new($Length)
    $random.NextBytes($bytes)
    # No '$' and no '#': no packet can start or end here.
    foreach ($b in [byte]0x23, [byte]0x24) {
        for ($i = [Array]::IndexOf($bytes, $b); $i -ge 0; $i = [Array]::IndexOf($bytes, $b, $i)) { $bytes[$i] = 0x20 }
    }
    , $bytes
}

# Printable text without '#', '$', '}' and '*', cut into packet bodies (generated once: speed).
$printable = -join (1..8192 | ForEach-Object {
        do { $c = [char]$random.Next(0x20, 0x7f) } while ($c -in '#', '$', '}', '*')
        $c
    })

function New-RandomBody([int] $Length) {
    $printable.Substring($random.Next(0, $printable.Length - $Length), $Length)
}

function New-BadPacket([int] $Length) {
    $body = New-RandomBody $Length
    $wrong = ((Get-Checksum $body) + 1 + $random.Next(255)) % 256
    , $ascii.GetBytes(('${0}#{1:x2}' -f $body, $wrong))
}

$kinds = @(
    @{ Name = 'empty'; Make = { , [byte[]]::new(0) } }
    @{ Name = 'one-byte'; Make = { , [byte[]]@([byte]$random.Next(256)) } }
    @{ Name = 'binary'; Make = { New-RandomBytes ($random.Next(2, 1400)) } }
    @{ Name = 'bad-checksum'; Make = { New-BadPacket ($random.Next(1, 200)) } }
    @{ Name = 'non-hex-checksum'; Make = { , $ascii.GetBytes('$' + (New-RandomBody ($random.Next(1, 40))) + '#zz') } }
    @{ Name = 'over-long'; Make = { New-BadPacket ($random.Next(1100, 1400)) } }
    @{ Name = 'protocol-chars'; Make = {
            $b = [byte[]]::new($random.Next(1, 64))
            $set = [byte[]](0x2b, 0x2d, 0x03, 0x23, 0x7d)
            for ($i = 0; $i -lt $b.Length; $i++) { $b[$i] = $set[$random.Next($set.Length)] }
            , $b
        } }
)
$oversized = @{ Name = 'oversized'; Make = { New-RandomBytes ($random.Next(1473, 9000)) } }

function Receive-Until([string] $Pattern, [int] $Seconds, [byte[]] $Resend) {
    # Reads datagrams until their text matches; resends $Resend every 300 ms meanwhile.
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    $seen = [Text.StringBuilder]::new()
    $udp.Client.ReceiveTimeout = 300
    while ([DateTime]::UtcNow -lt $deadline) {
        if ($Resend) { [void]$udp.Send($Resend, $Resend.Length) }
        try {
            $remote = [System.Net.IPEndPoint]::new([System.Net.IPAddress]::Any, 0)
            while ($true) {
                $data = $udp.Receive([ref]$remote)
                [void]$seen.Append($ascii.GetString($data))
                if ($seen.ToString() -match $Pattern) { return $seen.ToString() }
            }
        } catch [System.Net.Sockets.SocketException] { }
    }
    throw "send-junk: no '$Pattern' from 127.0.0.1:$Port within $Seconds s (got: $($seen.ToString()))"
}

try {
    if ($AsPeer) {
        # Break in with a real packet; the stop reply proves the kernel is stopped.
        [void](Receive-Until '\$[ST][0-9a-f]{2}' $TimeoutSeconds ($ascii.GetBytes('$?#3f')))
        [void]$udp.Send([byte[]]@(0x2b), 1)
    }
    # A pool of distinct datagrams, generated once (PowerShell is slow at it), sent round-robin.
    $pool = for ($n = 0; $n -lt 300; $n++) {
        $kind = if ($n % 100 -eq 99) { $oversized } else { $kinds[$n % $kinds.Count] }
        [byte[]] $bytes = & $kind.Make
        [pscustomobject]@{ Name = $kind.Name; Bytes = $bytes }
    }
    $names = [Collections.Generic.HashSet[string]]::new()
    for ($n = 0; $n -lt $Count; $n++) {
        $datagram = $pool[$n % $pool.Count]
        [void]$udp.Send($datagram.Bytes, $datagram.Bytes.Length)
        [void]$names.Add($datagram.Name)
        # Do not outrun QEMU's user-mode network (it drops what it cannot queue).
        if ($n % 50 -eq 49) { Start-Sleep -Milliseconds 2 }
    }
    "sent $Count datagrams (kinds: $(($names | Sort-Object) -join ', '))"
    if ($AsPeer) {
        # The stub may sit inside a junk packet: '#00' ends it (NAK), then detach.
        [void]$udp.Send($ascii.GetBytes('#00'), 3)
        [void](Receive-Until '\$OK#9a' $TimeoutSeconds ($ascii.GetBytes('$D#44')))
        [void]$udp.Send([byte[]]@(0x2b), 1)
        'detached'
    }
} finally {
    $udp.Dispose()
}
