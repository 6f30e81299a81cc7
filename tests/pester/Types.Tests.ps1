# Get-KernelType against real kernels booted in the lab: the types come from the running kernel's
# own BTF (read through kgdboe from __start_BTF..__stop_BTF), and every member's offset, size and
# bit-field position equals what pahole prints from the same kernel's vmlinux. The bytes read equal
# the guest's /sys/kernel/btf/vmlinux; a second connect takes them from the cache; an unknown type
# fails with KgdbOe.TypeNotFound and the session goes on answering.
#
# Set KGDBOE_TYPES_LAB to a name prefix of your own while developing (those labs are stopped at
# the end); otherwise the shared test-<kernel>-e1000-2 labs are used. KGDBOE_TYPES_KERNELS
# ("6.12" or "6.12,6.1", the default) picks the kernels.
BeforeDiscovery {
    $Structs = @(
        'task_struct', 'list_head', 'hlist_head', 'hlist_node', 'module', 'file', 'sk_buff', 'mm_struct', 'inode', 'dentry',
        'super_block', 'net_device', 'page', 'rq', 'cred', 'pid', 'signal_struct', 'kobject', 'device', 'vm_area_struct',
        'printk_ringbuffer', 'prb_desc', 'printk_info', 'prb_desc_ring', 'prb_data_ring', 'kernel_param', 'sock', 'nsproxy',
        'files_struct', 'path', 'mount', 'pt_regs', 'rb_node', 'timer_list', 'work_struct', 'mutex', 'kernfs_node')
    $Kernels = if ($env:KGDBOE_TYPES_KERNELS) { $env:KGDBOE_TYPES_KERNELS -split ',' } else { '6.12', '6.1' }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestLab.ps1')

    $script:ModuleDir = Import-KgdbOeTestModule

    # The members pahole lists at the top level of `pahole -F btf -C <name> <file>`: an anonymous
    # struct/union member is one entry (its closing line carries the offset). Bit fields come as
    # "/* unit-offset: bit size */"; the absolute bit position is unit-offset*8 + bit.
    function Get-PaholeMember([string] $File, [string] $Name) {
        $text = & pahole -F btf -C $Name $File 2>$null
        $depth = 0; $started = $false; $opened = [Collections.Generic.Stack[string]]::new()
        foreach ($raw in $text) {
            $line = $raw.Trim()
            if (-not $line -or $line.StartsWith('/*')) { continue }
            if (-not $started) { if ($line.EndsWith('{')) { $started = $true; $depth = 1 }; continue }
            if ($line.EndsWith('{')) { $depth++; $opened.Push($line); continue }
            $declaration = $line
            if ($line.StartsWith('}')) {
                $depth--
                if ($depth -eq 0) { break }
                $declaration = $opened.Pop() + ' ' + $line
                if ($depth -ne 1) { continue }
            } elseif ($depth -ne 1) { continue }
            if ($line -notmatch '/\*\s*(\d+)(?::\s*(\d+))?\s+(\d+)\s*\*/\s*$') { continue } # pahole's own ":0" padding lines
            $bit = if ($Matches[2]) { [int]$Matches[2] } else { $null }
            [pscustomobject]@{
                Declaration = $declaration
                BitPosition = [uint64]$Matches[1] * 8 + [uint64]$(if ($null -ne $bit) { $bit } else { 0 })
                Size        = [uint64]$Matches[3]
                IsBitField  = $null -ne $bit
                Width       = if ($null -ne $bit -and $declaration -match ':\s*(\d+)\s*;') { [int]$Matches[1] } else { $null }
            }
        }
    }
}

Describe 'Get-KernelType on <Kernel>' -Tag 'Lab', 'Objects' -ForEach @($Kernels | ForEach-Object { @{ Kernel = $_; Structs = $Structs } }) {
    BeforeAll {
        $labArgs = @{ Kernel = $Kernel; Nic = 'e1000'; Cpus = 2 }
        if ($env:KGDBOE_TYPES_LAB) { $labArgs.Name = "$env:KGDBOE_TYPES_LAB-$Kernel".Replace('.', '') }
        $lab = Get-TestLab @labArgs
        $cache = Join-Path $TestDrive "btf-$Kernel"
        $env:KGDBOE_BTF_CACHE = $cache

        # What the guest says about its own BTF, asked while it runs (a stopped VM answers no SSH).
        Invoke-LabSsh -Lab $lab -Command 'rmmod kgdboe 2>/dev/null; true' | Out-Null
        $guestBtf = (Invoke-LabSsh -Lab $lab -Command 'sha256sum /sys/kernel/btf/vmlinux; stat -c %s /sys/kernel/btf/vmlinux') -split '\s+'
        $installation = Install-KgdboeModule -ComputerName 127.0.0.1 -SshPort $lab.SshPort -KeyFilePath $lab.KeyPath `
            -KnownHostsPath $lab.KnownHostsPath -ModulePath (Get-LabKernelModule -Lab $lab) -DebugPort $lab.DebugPort `
            -SystemMap $lab.SystemMap -Confirm:$false -ErrorAction Stop
        $session = $installation | Connect-KernelTarget -Name "types-$Kernel"
    }

    AfterAll {
        if ($session -and -not $session.IsClosed) { Disconnect-KernelTarget -Target $session -Confirm:$false -ErrorAction Continue }
        if ($second -and -not $second.IsClosed) { Disconnect-KernelTarget -Target $second -Confirm:$false -ErrorAction Continue }
        Remove-Item Env:KGDBOE_BTF_CACHE -ErrorAction Ignore
        Invoke-LabSsh -Lab $lab -Command 'rmmod kgdboe 2>/dev/null; true' | Out-Null
        if ($env:KGDBOE_TYPES_LAB) { Stop-KgdbOeLab -Name $lab.Name }
    }

    It 'reads the BTF from the target''s memory, byte for byte the guest''s /sys/kernel/btf/vmlinux' {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $type = Get-KernelType list_head -Target $session -ErrorAction Stop
        $seconds = $watch.Elapsed.TotalSeconds
        $type.Size | Should -Be 16
        $session.TypeSource | Should -Match "^$($guestBtf[2]) bytes of BTF from the target's memory"
        $file = Get-ChildItem $cache -Filter '*.btf'
        $file.Length | Should -Be ([long]$guestBtf[2])
        (Get-FileHash $file.FullName -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $guestBtf[0]
        Write-Host ('    {0}: {1} bytes of BTF read through kgdboe in {2:0.0} s' -f $Kernel, $file.Length, $seconds)
    }

    It 'gives every member of <_> the offset, size and bit field pahole gives' -ForEach $Structs {
        $name = $_
        $expected = @(Get-PaholeMember -File $lab.Vmlinux -Name $name)
        if ($expected.Count -eq 0) {
            (Get-CommandError { Get-KernelType $name -Target $session }) | Should -Not -BeNullOrEmpty -Because "pahole does not know $name"
            Set-ItResult -Skipped -Because "$Kernel has no struct $name"
            return
        }
        $type = Get-KernelType $name -Target $session -ErrorAction Stop
        $type.Kind | Should -BeIn 'Struct', 'Union'
        $type.Members.Count | Should -Be $expected.Count
        for ($i = 0; $i -lt $expected.Count; $i++) {
            $m = $type.Members[$i]; $p = $expected[$i]
            $where = "$name member $i ($($m.Declaration) / pahole: $($p.Declaration))"
            if ($m.Name) { $p.Declaration | Should -Match "\b$([regex]::Escape($m.Name))\b" -Because $where }
            $m.Size | Should -Be $p.Size -Because $where
            ($null -ne $m.BitSize) | Should -Be $p.IsBitField -Because $where
            $bitPosition = [uint64]$m.Offset * 8 + [uint64]$(if ($null -ne $m.BitOffset) { $m.BitOffset } else { 0 })
            $bitPosition | Should -Be $p.BitPosition -Because $where
            if ($p.IsBitField) { $m.BitSize | Should -Be $p.Width -Because $where }
        }
    }

    It 'lays a struct out like pahole, with hex offsets' {
        $text = (Get-KernelType list_head -Target $session).FormatLayout()
        $text | Should -Match '(?m)^struct list_head \{'
        $text | Should -Match '(?m)^\tstruct list_head \*prev;\s+/\*\s+0x8\s+8 \*/'
        $text | Should -Match 'size: 0x10 \(16\), members: 2'
        (Get-KernelType list_head -Target $session | Out-String) | Should -Match 'struct list_head \*next;'
    }

    It 'fails an unknown type with KgdbOe.TypeNotFound and goes on answering' {
        $err = Get-CommandError { Get-KernelType no_such_struct_here -Target $session }
        Get-ErrorIdOf $err | Should -Be 'KgdbOe.TypeNotFound'
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err.TargetObject | Should -Be 'no_such_struct_here'
        # The other names of the same call are still looked up.
        $found = Get-KernelType no_such_struct_here, 'struct file' -Target $session -ErrorAction SilentlyContinue
        $found.TypeName | Should -Be 'struct file'
        (Read-KernelMemory linux_banner 13 -Target $session).ReadString() | Should -Be 'Linux version'
    }

    It 'lists every named type a wildcard matches, and takes C spellings with stars as they are' {
        $names = @(Get-KernelType 'prb_desc*' -Target $session | ForEach-Object Name)
        $names | Should -Contain 'prb_desc'
        $names | Should -Contain 'prb_desc_ring'
        $names | Where-Object { $_ -notlike 'prb_desc*' } | Should -BeNullOrEmpty
        $pointer = Get-KernelType 'struct list_head *' -Target $session
        ($pointer.Kind, $pointer.Size, $pointer.TypeName) | Should -Be @('Pointer', 8, 'struct list_head *')
        (Get-KernelType 'unsigned long' -Target $session).TypeName | Should -Be 'long unsigned int' # GCC's spelling in BTF
    }

    It 'completes type names with Tab' {
        $line = "Get-KernelType -Target `$session task_str"
        $names = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $names | Should -Contain 'task_struct'
    }

    It 'takes the types from the cache on the next connect' {
        Disconnect-KernelTarget -Target $session -Confirm:$false
        $script:second = $installation | Connect-KernelTarget -Name "types-$Kernel-again"
        $paholeSize = (& pahole -F btf -C task_struct $lab.Vmlinux 2>$null | Select-String '/\* size: (\d+),').Matches[0].Groups[1].Value
        (Get-KernelType task_struct -Target $second).Size | Should -Be ([uint64]$paholeSize)
        $second.TypeSource | Should -Match 'from the cache'
        Write-Host "    ${Kernel}: $($second.TypeSource)"
    }

    It 'says KgdbOe.NoBtf for a kernel whose symbols have no __start_BTF' {
        $map = Join-Path $TestDrive "System.map-nobtf-$Kernel"
        Get-Content $lab.SystemMap | Where-Object { $_ -notmatch ' __(start|stop)_BTF$' } | Set-Content $map
        Disconnect-KernelTarget -Target $second -Confirm:$false
        $script:second = Connect-KernelTarget 127.0.0.1 -Port $lab.DebugPort -SystemMap $map -Name "types-$Kernel-nobtf"
        $err = Get-CommandError { Get-KernelType list_head -Target $second }
        Get-ErrorIdOf $err | Should -Be 'KgdbOe.NoBtf'
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        (Read-KernelMemory linux_banner 13 -Target $second).ReadString() | Should -Be 'Linux version'
    }

    It 'reads -BtfPath instead of the target' {
        Disconnect-KernelTarget -Target $second -Confirm:$false
        $script:second = Connect-KernelTarget 127.0.0.1 -Port $lab.DebugPort -SystemMap $lab.SystemMap -BtfPath $lab.Vmlinux -Name "types-$Kernel-file"
        (Get-KernelType 'struct list_head *' -Target $second).Size | Should -Be 8
        $second.TypeSource | Should -Match ([regex]::Escape($lab.Vmlinux))
    }
}
