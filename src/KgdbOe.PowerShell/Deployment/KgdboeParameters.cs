using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>
    /// The kgdboe module parameters the cmdlet can set, turned into insmod arguments. Values are
    /// checked here (interface name, IPv4 addresses), so nothing unquoted reaches the remote shell.
    /// Unset values are left to the module's own defaults (port 31337, the first up interface).
    /// </summary>
    internal sealed class KgdboeParameters
    {
        private static readonly Regex InterfaceName = new Regex("^[A-Za-z0-9_.:@-]{1,15}$");

        public string? DeviceName { get; set; }

        public int? UdpPort { get; set; }

        public string? LocalIp { get; set; }

        public string? PeerIp { get; set; }

        public bool ForceSingleCore { get; set; }

        public IReadOnlyList<string> ToInsmodArguments()
        {
            var args = new List<string>();
            if (DeviceName != null)
            {
                if (!InterfaceName.IsMatch(DeviceName)) throw Invalid("DeviceName", DeviceName, "is not a network interface name");
                args.Add("device_name=" + DeviceName);
            }
            if (UdpPort != null) args.Add("udp_port=" + UdpPort.Value.ToString(CultureInfo.InvariantCulture));
            if (LocalIp != null) args.Add("local_ip=" + Ipv4(LocalIp, "LocalIp"));
            if (PeerIp != null) args.Add("peer_ip=" + Ipv4(PeerIp, "PeerIp"));
            if (ForceSingleCore) args.Add("force_single_core=1");
            return args;
        }

        private static string Ipv4(string value, string name)
        {
            if (!IPAddress.TryParse(value, out var address) || address.AddressFamily != AddressFamily.InterNetwork)
                throw Invalid(name, value, "is not an IPv4 address (netpoll speaks IPv4 only)");
            return address.ToString();
        }

        private static DeploymentException Invalid(string name, string value, string why) =>
            new DeploymentException(DeploymentErrorIds.InvalidModuleParameter, ErrorCategory.InvalidArgument, value,
                $"-{name} '{value}' {why}.");
    }
}
