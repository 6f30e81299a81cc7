# Deployment over SSH against the lab: Install-KgdboeModule / Uninstall-KgdboeModule with the real
# kgdboe.ko in the busybox lab (dropbear) on both kernels, every SSH failure the cmdlets promise a
# stable error id for, the build on the target in the Debian guest (OpenSSH, gcc, headers), and
# Debian's own kernel, which has no KGDB and can be locked down.
# Guest state is checked from the guest itself (/proc/modules, dmesg) through the lab's own ssh.
BeforeDiscovery {
    $Kernels = '6.12', '6.1'
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestLab.ps1')
    $Root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $package = @($env:KGDBOE_PACKAGE, (Join-Path $Root 'src/KgdbOe.PowerShell/bin/Debug/netstandard2.0/KgdbOe')) |
        Where-Object { $_ -and (Test-Path (Join-Path $_ 'KgdbOe.psd1')) } | Select-Object -First 1
    Import-Module (Join-Path $package 'KgdbOe.psd1') -Force

    # How the lab is reached: SSH on a forwarded loopback port, kgdboe's UDP 31337 forwarded too.
    function Get-LabLogin($Lab) {
        @{ ComputerName = '127.0.0.1'; SshPort = $Lab.SshPort; KeyFilePath = $Lab.KeyPath; KnownHostsPath = $Lab.KnownHostsPath }
    }

    function Test-KgdboeLoaded($Lab) {
        (Invoke-LabSsh -Lab $Lab -Command "grep -c '^kgdboe ' /proc/modules || true") -eq '1'
    }

    function Remove-KgdboeFromLab($Lab) {
        # Leave the shared lab as we found it, whatever a failed test did.
        $null = Invoke-LabSsh -Lab $Lab -Command 'rmmod kgdboe 2>/dev/null; true'
    }

    # Runs a cmdlet expecting one error; returns it (the test then checks id and message).
    function Get-CmdletError([scriptblock] $Script) {
        $ErrorActionPreference = 'Stop'
        try { & $Script | Out-Null } catch { return $_ }
        throw 'expected an error, got none'
    }

    function Get-ErrorId($ErrorRecord) { ($ErrorRecord.FullyQualifiedErrorId -split ',')[0] }

    # Keys that Install-KgdboeModule stores go to a folder of this run, not the user's own:
    # a key left for 127.0.0.1:<port> would be taken by later suites that load kgdboe keyless.
    $script:SavedXdg = $env:XDG_CONFIG_HOME
    $env:XDG_CONFIG_HOME = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-deploy-keys-$PID"
}

AfterAll {
    Remove-Item -Recurse -Force -LiteralPath $env:XDG_CONFIG_HOME -ErrorAction Ignore
    $env:XDG_CONFIG_HOME = $script:SavedXdg
}

Describe 'Install-KgdboeModule with a prebuilt module, kernel <_>' -Tag 'Lab', 'Deployment' -ForEach $Kernels {
    BeforeAll {
        $lab = Get-TestLab -Kernel $_
        $ko = Get-LabKernelModule -Lab $lab
        $login = Get-LabLogin $lab
        Remove-KgdboeFromLab $lab
    }
    AfterAll {
        Get-KernelTarget | Disconnect-KernelTarget -ErrorAction SilentlyContinue
        Remove-KgdboeFromLab $lab
    }

    It 'loads it and returns what the module reported' {
        $script:installation = Install-KgdboeModule @login -ModulePath $ko -DebugPort $lab.DebugPort -SystemMap $lab.SystemMap -ErrorAction Stop
        Test-KgdboeLoaded $lab | Should -BeTrue
        $i = $script:installation
        $i | Should -BeOfType ([KgdbOe.PowerShell.KgdboeInstallation])
        # Where the debugger goes: the SSH host and the forwarded port, not the guest's own.
        $i.ComputerName | Should -Be '127.0.0.1'
        $i.Port | Should -Be $lab.DebugPort
        $i.Transport | Should -Be 'Udp'
        $i.SystemMap | Should -Be $lab.SystemMap
        # What the guest says about itself.
        $i.Device | Should -Be 'eth0'
        $i.DeviceIp | Should -Be (Invoke-LabSsh -Lab $lab -Command "ip -4 -o addr show eth0 | awk '{print `$4}' | cut -d/ -f1")
        $i.DevicePort | Should -Be 31337
        $i.Mode | Should -Be 'multi-core'
        $i.KernelRelease | Should -Be $lab.KernelRelease
        $i.BuiltOnTarget | Should -BeFalse
        $i.SshHost | Should -Be '127.0.0.1'
        $i.SshPort | Should -Be $lab.SshPort
        $i.HostKeyFingerprint | Should -Match '^SHA256:[A-Za-z0-9+/]{43}$'
        # The object carries the module's ready line exactly as the kernel logged it.
        $dmesg = Invoke-LabSsh -Lab $lab -Command 'dmesg | grep "kgdboe: ready" | tail -1'
        $dmesg | Should -BeLike "*$($i.ReadyLine)"
        # On screen: where it runs and the two ways to attach.
        $shown = $i | Out-String
        $shown | Should -Match "Connect\s+: Connect-KernelTarget 127\.0\.0\.1 $($lab.DebugPort)"
        # Keyed by default (issue 13): no stock-gdb line; the key is stored for the user, never shown.
        $shown | Should -Match "Wire\s+: keyed v2"
        $shown | Should -Not -Match "Gdb\s+: target remote"
        $i.Keyed | Should -BeTrue
        $i.Key | Should -BeOfType ([securestring])
        $i.Key.Length | Should -Be 64
        $shown | Should -Not -Match ([regex]::Escape([Net.NetworkCredential]::new('', $i.Key).Password))
        # Compared as a value: the flags' text order is not stable across .NET versions.
        (Get-Item -LiteralPath $i.KeyPath).UnixFileMode | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite') -Because 'mode 0600'
        $i.ReadyLine | Should -Match "^kgdboe: ready dev=eth0 ip=$([regex]::Escape($i.DeviceIp)) port=31337 mode=multi-core irqs=\S+ txqs=$($i.TxQueues) owner=$($i.Owner) wire=v2$"
    }

    It 'refuses to load it twice' {
        $e = Get-CmdletError { Install-KgdboeModule @login -ModulePath $ko }
        Get-ErrorId $e | Should -Be 'KgdbOe.KgdboeAlreadyLoaded'
        $e.CategoryInfo.Category | Should -Be 'ResourceExists'
        $e.TargetObject | Should -Be '127.0.0.1'
    }

    It 'pipes into Connect-KernelTarget, and Uninstall refuses while connected' {
        $session = $script:installation | Connect-KernelTarget -ErrorAction Stop
        try {
            $session.Endpoint | Should -Match "127\.0\.0\.1:$($lab.DebugPort)"
            $e = Get-CmdletError { $script:installation | Uninstall-KgdboeModule }
            Get-ErrorId $e | Should -Be 'KgdbOe.KgdboeModuleInUse'
            $e.Exception.Message | Should -Match 'Disconnect-KernelTarget'
            # Running again but still attached: the kernel itself refuses (kgdboe holds a reference).
            $session | Resume-KernelTarget -ErrorAction Stop
            $e = Get-CmdletError { $script:installation | Uninstall-KgdboeModule -Force }
            Get-ErrorId $e | Should -Be 'KgdbOe.KgdboeModuleInUse'
            $e.Exception.Message | Should -Match 'in use'
        } finally {
            $session | Disconnect-KernelTarget -ErrorAction SilentlyContinue
        }
        Test-KgdboeLoaded $lab | Should -BeTrue
    }

    It 'unloads it with the installation object' {
        $script:installation | Uninstall-KgdboeModule -ErrorAction Stop
        Test-KgdboeLoaded $lab | Should -BeFalse
    }

    It 'says kgdboe is not loaded when there is nothing to unload' {
        $e = Get-CmdletError { Uninstall-KgdboeModule @login }
        Get-ErrorId $e | Should -Be 'KgdbOe.KgdboeNotLoaded'
    }

    It 'quotes the kernel''s reason when the module refuses to load (no such device)' {
        $e = Get-CmdletError { Install-KgdboeModule @login -ModulePath $ko -DeviceName nosuch0 }
        Get-ErrorId $e | Should -Be 'KgdbOe.KgdboeLoadRefused'
        # Whatever the kernel logged after insmod is quoted; it names the device.
        $logged = Invoke-LabSsh -Lab $lab -Command 'dmesg | grep -i nosuch0 | tail -1'
        $logged | Should -Not -BeNullOrEmpty
        $e.Exception.Message | Should -Match ([regex]::Escape(($logged -replace '^\[[^\]]*\]\s*', '').Trim()))
        Test-KgdboeLoaded $lab | Should -BeFalse
    }

    It 'quotes the kernel''s reason for rejecting a module built for another kernel' {
        $other = if ($lab.Kernel -eq '6.12') { '6.1' } else { '6.12' }
        $otherDir = @(& bash (Join-Path $Root 'tests/lab/build-kernel.sh') $other)[-1]
        $otherKo = Get-LabKernelModule -Lab ([pscustomobject]@{ Kernel = $other; Kdir = (Join-Path $otherDir 'src') })
        $e = Get-CmdletError { Install-KgdboeModule @login -ModulePath $otherKo }
        Get-ErrorId $e | Should -Be 'KgdbOe.KgdboeLoadRefused'
        # 6.1 names the version magic; 6.12 first finds struct module's size differs. Either way
        # the kernel's own last word about kgdboe is in the message.
        $logged = Invoke-LabSsh -Lab $lab -Command 'dmesg | grep kgdboe | grep -v kgdboe-deploy | tail -1'
        $logged | Should -Match 'version magic|this_module section size|disagrees'
        $e.Exception.Message | Should -Match ([regex]::Escape(($logged -replace '^\[[^\]]*\]\s*', '').Trim()))
        Test-KgdboeLoaded $lab | Should -BeFalse
    }

    It 'says that this guest cannot build kgdboe (no compiler)' {
        $e = Get-CmdletError { Install-KgdboeModule @login -SourcePath (Join-Path $Root 'module-c') }
        Get-ErrorId $e | Should -Be 'KgdbOe.BuildToolsMissing'
        $e.Exception.Message | Should -Match 'gcc'
        $e.CategoryInfo.Category | Should -Be 'NotInstalled'
    }
}

Describe 'Install-KgdboeModule on a kernel that cannot be debugged (Debian''s own)' -Tag 'Lab', 'Deployment' {
    BeforeAll {
        # Debian builds its kernel without KGDB and with the lockdown LSM: both refusals, for real.
        $lab = Get-TestLab -Kernel stock -Cpus 1
        if ((Invoke-LabSsh -Lab $lab -Command 'cat /sys/kernel/security/lockdown') -notmatch '\[none\]') {
            # A lab kept from an earlier run is still locked down (lockdown only goes up): boot it again.
            Stop-KgdbOeLab -Name $lab.Name
            $lab = Get-TestLab -Kernel stock -Cpus 1
        }
        $login = Get-LabLogin $lab
        $source = Join-Path $Root 'module-c'
    }

    It 'says the kernel has no KGDB, and uploads nothing' {
        $e = Get-CmdletError { Install-KgdboeModule @login -SourcePath $source }
        Get-ErrorId $e | Should -Be 'KgdbOe.KernelWithoutKgdb'
        $e.CategoryInfo.Category | Should -Be 'NotInstalled'
        $e.TargetObject | Should -Be '127.0.0.1'
        $e.Exception.Message | Should -Match ([regex]::Escape($lab.KernelRelease))
        Invoke-LabSsh -Lab $lab -Command 'ls /tmp' | Should -Not -Match 'kgdboe'
    }

    It 'says the kernel is locked down (checked before KGDB)' {
        # Lockdown can only be raised at run time: this test comes last.
        $null = Invoke-LabSsh -Lab $lab -Command 'echo integrity > /sys/kernel/security/lockdown'
        $e = Get-CmdletError { Install-KgdboeModule @login -SourcePath $source }
        Get-ErrorId $e | Should -Be 'KgdbOe.KernelLockdown'
        $e.CategoryInfo.Category | Should -Be 'SecurityError'
        $e.Exception.Message | Should -Match "lockdown mode 'integrity'"
    }
}

Describe 'SSH login and host keys' -Tag 'Lab', 'Deployment' {
    BeforeAll {
        $lab = Get-TestLab -Kernel '6.12'
        $login = Get-LabLogin $lab
        Remove-KgdboeFromLab $lab
        $scratch = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-ssh-$([guid]::NewGuid().ToString('N'))"
        New-Item -ItemType Directory $scratch | Out-Null
        $labKnownHost = @(Get-Content $lab.KnownHostsPath | Where-Object { $_.Trim() })[0]
        # OpenSSH's own fingerprint of the lab's host key, to compare ours with.
        $expectedFingerprint = ((& ssh-keygen -l -f $lab.KnownHostsPath) -split ' ')[1]
    }
    AfterAll { Remove-Item -Recurse -Force $scratch -ErrorAction Ignore }

    # Uninstall with nothing loaded logs in, looks and fails with KgdboeNotLoaded: proof that the
    # SSH part worked without changing the guest.
    It 'fails on an unknown host key with the SHA256 fingerprint, then -AcceptHostKey records it' {
        $knownHosts = Join-Path $scratch 'unknown_hosts'
        $e = Get-CmdletError { Uninstall-KgdboeModule @login -KnownHostsPath $knownHosts }
        Get-ErrorId $e | Should -Be 'KgdbOe.SshHostKeyUnknown'
        $e.CategoryInfo.Category | Should -Be 'SecurityError'
        $e.Exception.Message | Should -Match ([regex]::Escape($expectedFingerprint))
        Test-Path $knownHosts | Should -BeFalse

        $e = Get-CmdletError { Install-KgdboeModule @login -KnownHostsPath $knownHosts -AcceptHostKey -ModulePath /nonexistent/kgdboe.ko }
        Get-ErrorId $e | Should -Be 'KgdbOe.KgdboeModuleFileNotFound'
        (Get-Content $knownHosts) | Should -Be $labKnownHost
        # Now known: a plain login works.
        $e = Get-CmdletError { Uninstall-KgdboeModule @login -KnownHostsPath $knownHosts }
        Get-ErrorId $e | Should -Be 'KgdbOe.KgdboeNotLoaded'
    }

    It 'fails on a changed host key with its own id, -AcceptHostKey or not' {
        $knownHosts = Join-Path $scratch 'changed_hosts'
        & ssh-keygen -q -t ed25519 -N '' -f (Join-Path $scratch 'other_key')
        $otherKey = (Get-Content (Join-Path $scratch 'other_key.pub')) -split ' '
        "[127.0.0.1]:$($lab.SshPort) $($otherKey[0]) $($otherKey[1])" | Set-Content $knownHosts
        foreach ($accept in $false, $true) {
            $e = Get-CmdletError { Uninstall-KgdboeModule @login -KnownHostsPath $knownHosts }
            if ($accept) { $e = Get-CmdletError { Install-KgdboeModule @login -KnownHostsPath $knownHosts -AcceptHostKey -ModulePath /nonexistent/kgdboe.ko } }
            Get-ErrorId $e | Should -Be 'KgdbOe.SshHostKeyChanged'
            $e.Exception.Message | Should -Match ([regex]::Escape($expectedFingerprint))
        }
        @(Get-Content $knownHosts).Count | Should -Be 1
    }

    It 'trusts a hashed known_hosts entry' {
        $knownHosts = Join-Path $scratch 'hashed_hosts'
        Copy-Item $lab.KnownHostsPath $knownHosts
        & ssh-keygen -q -H -f $knownHosts 2>$null
        @(Get-Content $knownHosts)[0] | Should -Match '^\|1\|'
        $e = Get-CmdletError { Uninstall-KgdboeModule @login -KnownHostsPath $knownHosts }
        Get-ErrorId $e | Should -Be 'KgdbOe.KgdboeNotLoaded'
    }

    It 'logs in with the password, and a wrong one gives its own id' {
        $good = [pscredential]::new('root', (ConvertTo-SecureString 'kgdboe' -AsPlainText -Force))
        $bad = [pscredential]::new('root', (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force))
        $noKey = @{ ComputerName = '127.0.0.1'; SshPort = $lab.SshPort; KnownHostsPath = $lab.KnownHostsPath }
        Get-ErrorId (Get-CmdletError { Uninstall-KgdboeModule @noKey -Credential $good }) | Should -Be 'KgdbOe.KgdboeNotLoaded'
        $e = Get-CmdletError { Uninstall-KgdboeModule @noKey -Credential $bad }
        Get-ErrorId $e | Should -Be 'KgdbOe.SshAuthenticationFailed'
        $e.CategoryInfo.Category | Should -Be 'AuthenticationError'
    }

    It 'says when nothing answers on the SSH port' {
        # A loopback port nobody listens on: the OS refuses the connection at once.
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start(); $closedPort = $listener.LocalEndpoint.Port; $listener.Stop()
        $e = Get-CmdletError { Install-KgdboeModule -ComputerName 127.0.0.1 -SshPort $closedPort -KeyFilePath $lab.KeyPath -KnownHostsPath $lab.KnownHostsPath -ModulePath /nonexistent/kgdboe.ko }
        Get-ErrorId $e | Should -Be 'KgdbOe.SshHostUnreachable'
        $e.CategoryInfo.Category | Should -Be 'ConnectionError'
        $e.Exception.Message | Should -Match "127\.0\.0\.1 port $closedPort"
    }

    It 'works beside another module''s older SSH.NET (pwsh 7 load context)' {
        # SSH.NET 2024.2.0 stands for Posh-SSH's copy: loaded first, in the default load context.
        $nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
        $oldSsh = Join-Path $nuget 'ssh.net/2024.2.0/lib/net8.0/Renci.SshNet.dll'
        if (-not (Test-Path $oldSsh)) {
            $restore = Join-Path $scratch 'restore'
            New-Item -ItemType Directory $restore | Out-Null
            Set-Content (Join-Path $restore 'r.csproj') '<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>net8.0</TargetFramework><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup><ItemGroup><PackageDownload Include="SSH.NET" Version="[2024.2.0]" /></ItemGroup></Project>'
            & dotnet restore (Join-Path $restore 'r.csproj') | Out-Null
        }
        $pwsh = Join-Path $PSHOME 'pwsh'
        $script = @"
`$ErrorActionPreference = 'Stop'
`$null = Add-Type -Path '$oldSsh' -PassThru
Import-Module '$(Join-Path $package 'KgdbOe.psd1')'
try { Uninstall-KgdboeModule -ComputerName 127.0.0.1 -SshPort $($lab.SshPort) -KeyFilePath '$($lab.KeyPath)' -KnownHostsPath '$($lab.KnownHostsPath)' }
catch { 'error ' + (`$_.FullyQualifiedErrorId -split ',')[0] }
[AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'Renci.SshNet' } | ForEach-Object { 'loaded ' + `$_.GetName().Version }
"@
        $out = & $pwsh -NoProfile -NonInteractive -Command $script
        $out | Should -Contain 'error KgdbOe.KgdboeNotLoaded'   # logged in and looked: SSH worked
        $out | Should -Contain 'loaded 2024.2.0.1'
        $out | Should -Contain 'loaded 2026.0.0.1'
    }

    It 'does not connect at all with -WhatIf' {
        $knownHosts = Join-Path $scratch 'whatif_hosts'
        Install-KgdboeModule @login -KnownHostsPath $knownHosts -AcceptHostKey -ModulePath /nonexistent/kgdboe.ko -WhatIf -ErrorAction Stop
        Test-Path $knownHosts | Should -BeFalse
        Test-KgdboeLoaded $lab | Should -BeFalse
    }
}

Describe 'Install-KgdboeModule building on the target (Debian guest)' -Tag 'Lab', 'Deployment' {
    BeforeAll {
        Import-Module (Join-Path $Root 'tests/lab/guest-debian/DebianGuest.psm1') -Force
        $lab = Start-DebianGuest -Name 'deploy-debian' -Kernel '6.12'
        $login = Get-LabLogin $lab
        Remove-KgdboeFromLab $lab
    }
    AfterAll {
        Remove-KgdboeFromLab $lab
        Stop-DebianGuest -Name 'deploy-debian'
    }

    It 'builds kgdboe with the guest''s gcc and headers and loads it' {
        # Compiling under TCG takes minutes per file.
        $i = Install-KgdboeModule @login -SourcePath (Join-Path $Root 'module-c') -DebugPort $lab.DebugPort -BuildTimeout 3600 -ErrorAction Stop
        $i.BuiltOnTarget | Should -BeTrue
        $i.KernelRelease | Should -Be $lab.KernelRelease
        $i.Device | Should -Be 'eth0'
        $i.DevicePort | Should -Be 31337
        Test-KgdboeLoaded $lab | Should -BeTrue
        # The module that runs is the one compiled in the guest.
        Invoke-LabSsh -Lab $lab -Command 'test -f /tmp/kgdboe/src/kgdboe.ko && echo built' | Should -Be 'built'
        $i | Uninstall-KgdboeModule -ErrorAction Stop
        Test-KgdboeLoaded $lab | Should -BeFalse
    }

    It 'says the kernel headers are missing' {
        $build = "/lib/modules/$($lab.KernelRelease)/build"
        $null = Invoke-LabSsh -Lab $lab -Command "mv $build $build.away"
        try {
            $e = Get-CmdletError { Install-KgdboeModule @login -SourcePath (Join-Path $Root 'module-c') }
        } finally {
            $null = Invoke-LabSsh -Lab $lab -Command "mv $build.away $build"
        }
        Get-ErrorId $e | Should -Be 'KgdbOe.KernelHeadersMissing'
        $e.Exception.Message | Should -Match ([regex]::Escape($lab.KernelRelease))
    }
}
