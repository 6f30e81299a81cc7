# Shared by discovery and the run of Views.Tests.ps1 (and Core.Tests.ps1, which renders the one output type Views.Tests
# cannot afford to make): loads the built module, finds its output types, renders and judges views.
$repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
# The package build.ps1 makes, else the module folder `dotnet build src/KgdbOe.PowerShell` lays out.
$script:ModuleDir = @(
    $env:KGDBOE_MODULE_DIR
    Join-Path $repoRoot 'out/KgdbOe'
    Join-Path $repoRoot 'src/KgdbOe.PowerShell/bin/Debug/netstandard2.0/KgdbOe'
) | Where-Object { $_ -and (Test-Path (Join-Path $_ 'KgdbOe.psd1')) } | Select-Object -First 1
if (-not $ModuleDir) { throw 'No built KgdbOe module folder: run build.ps1 Build or dotnet build src/KgdbOe.PowerShell.' }
Import-Module (Join-Path $ModuleDir 'KgdbOe.psd1') -Force

# The KgdbOe types the cmdlets declare with [OutputType] (FileInfo, byte[], string are PowerShell's own).
function Get-DeclaredOutputType {
    $assembly = (Get-Module KgdbOe).ImplementingAssembly
    $assembly.GetTypes() |
        Where-Object { $_.IsSubclassOf([System.Management.Automation.Cmdlet]) -and -not $_.IsAbstract } |
        ForEach-Object { $_.GetCustomAttributes([System.Management.Automation.OutputTypeAttribute], $true) } |
        ForEach-Object { $_.Type } | ForEach-Object { $_.Type } |
        Where-Object { $_ -and $_.Assembly.GetName().Name -in 'KgdbOe', 'KgdbOe.Core' } |
        # A typed object's properties are the C members of whatever type it holds (an adapter adds
        # them): PowerShell's own table and list of those properties are its views.
        Where-Object FullName -ne 'KgdbOe.PowerShell.KernelObjectView' |
        Sort-Object FullName -Unique
}

# Renders objects the three ways a user sees them, in a terminal 200 columns wide.
function Get-Rendering($InputObject) {
    [ordered]@{
        Default = $InputObject | Out-String -Width 200
        Table = $InputObject | Format-Table | Out-String -Width 200
        List = $InputObject | Format-List | Out-String -Width 200
    }
}

# What every view must do, whatever the type.
function Assert-ReadsWell([string] $Text, [string] $View) {
    $Text.Trim() | Should -Not -BeNullOrEmpty -Because "the $View view shows something"
    # A .NET type name: KgdbOe.Client.KernelDebugClient, System.Object[], System.Byte[] ...
    $Text | Should -Not -MatchExactly '\b(KgdbOe|System|Renci)\.[A-Z]\w*' -Because "the $View view names no .NET type"
    # A kernel address in decimal, as UInt64 or as a negative Int64.
    $Text | Should -Not -Match '\b18446\d{15}\b' -Because "the $View view shows no address in decimal"
    $Text | Should -Not -Match '(?<![\w.:])-\d{10,19}\b' -Because "the $View view shows no address as a negative number"
    # A byte array or another collection printed by PowerShell's fallback: {76, 105, 110...}
    $Text | Should -Not -Match '\{\d+, \d+' -Because "the $View view shows no raw collection"
    if ($View -eq 'Table') {
        # Columns sized to what they hold, not spread over the 200-column line (what a table
        # with fixed widths that is not its type's default does).
        $widest = ($Text -split '\r?\n' | ForEach-Object { $_.TrimEnd().Length } | Measure-Object -Maximum).Maximum
        $widest | Should -BeLessThan 180 -Because 'a table is sized to its content'
    }
    if ($View -eq 'List') {
        $Text | Should -Not -Match '(?m)^\w+\s*:[ \t]*\r?$' -Because 'a list view leaves unknown fields out instead of showing them empty'
    }
}
