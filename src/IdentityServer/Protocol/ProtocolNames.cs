namespace IdentityServer.Protocol;

/// <summary>Protocol names this server uses that <see cref="OpenIddict.Abstractions.OpenIddictConstants"/> does not define.</summary>
public static class ProtocolNames
{
    /// <summary>Discovery metadata of OpenID Connect Back-Channel Logout 1.0 §2.1 and Front-Channel Logout 1.0 §3.</summary>
    public static class Metadata
    {
        public const string BackchannelLogoutSupported = "backchannel_logout_supported";
        public const string BackchannelLogoutSessionSupported = "backchannel_logout_session_supported";
        public const string FrontchannelLogoutSupported = "frontchannel_logout_supported";
    }

    /// <summary>Claims this server issues that OpenIddict has no constant for.</summary>
    public static class Claims
    {
        /// <summary>The session id (OpenID Connect Front-Channel Logout 1.0 §3, Back-Channel Logout 1.0 §2.4).</summary>
        public const string SessionId = "sid";

        /// <summary>The <c>events</c> claim of a logout token (Back-Channel Logout 1.0 §2.4).</summary>
        public const string Events = "events";
    }

    /// <summary>The <c>amr</c> value of a multi-factor sign-in (RFC 8176 §2).</summary>
    public const string Mfa = "mfa";
}
