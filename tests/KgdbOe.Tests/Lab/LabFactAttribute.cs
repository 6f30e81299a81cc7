using System;
using Xunit;

namespace KgdbOe.Tests.Lab
{
    /// <summary>
    /// A test that needs lab VMs: skipped when their state files are not given, unless
    /// KGDBOE_REQUIRE_LAB=1, in which case it runs and fails for the missing lab.
    /// </summary>
    public sealed class LabFactAttribute : FactAttribute
    {
        public LabFactAttribute(params string[] stateVariables)
        {
            if (Environment.GetEnvironmentVariable("KGDBOE_REQUIRE_LAB") == "1") return;
            foreach (string variable in stateVariables.Length == 0 ? new[] { LabState.PrimaryVariable } : stateVariables)
                if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
                    Skip = $"No lab: set {variable} to a lab's state.json (KGDBOE_REQUIRE_LAB=1 makes this a failure).";
        }
    }
}
