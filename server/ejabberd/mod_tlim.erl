%%% mod_tlim: lets the clients written for the original tlim Openfire plugin use tlim unchanged,
%%% on ejabberd (written against ejabberd 23.01). The same behaviour as the Prosody module
%%% server/prosody/mod_tlim.lua (docs/servers.md, docs/ejabberd-module.md).
%%%
%%% Those clients address users and sessions in the users' domain D (`<peer>@D`, `<session_id>@D`,
%%% even `undefined@D`) and rely on the server to intercept; tlim is an external component
%%% (XEP-0114) that only sees what is addressed to its own domain C. Loaded on the users' host,
%%% this module:
%%%
%%%  1. hands every chat message of a local user that carries a tlim envelope (the
%%%     <tlim xmlns="im.itonglian.com"/> marker, or a JSON body whose msg_type is MTT-/MTS-/MTB-/MTC-)
%%%     to the component instead of routing it by its `to` (hook user_send_packet): the copy goes to
%%%     C itself, so tlim routes it by the envelope as the original plugin did, with the original
%%%     `to` kept in <intercepted xmlns="urn:tlim:route:0" to="..."/>;
%%%  2. tells the component when a local user's resource becomes available or unavailable
%%%     (<presence ... to="C"><reported xmlns="urn:tlim:route:0"/></presence>; hooks
%%%     c2s_self_presence and c2s_terminated), so clients that never address the component get
%%%     their backlog, and answers the component's question "who is online?"
%%%     (<iq type="get"><online xmlns="urn:tlim:route:0"/></iq>, an IQ handler on the host) after
%%%     it (re)connects;
%%%  3. lets messages tlim delivers to such a client appear as the original delivered them: when a
%%%     message from the component carries <address xmlns="urn:tlim:route:0" from="alice@D"/> (a JID
%%%     of this host), its `from` becomes that JID before delivery (hook sm_receive_packet: every
%%%     stanza to a local user passes there before delivery to a session, offline storage or
%%%     archiving). The component cannot send from D itself (XEP-0114: a component may only send
%%%     from its own domain).
%%%
%%% Configuration (ejabberd.yml, on the users' host or for all hosts), with this module's ebin
%%% directory on ejabberd's code path (server/ejabberd/build.sh, docs/ejabberd-module.md):
%%%   modules:
%%%     mod_tlim:
%%%       component: "tlim.example.com"   # default: "tlim." ++ the host
-module(mod_tlim).
-behaviour(gen_mod).

%% gen_mod
-export([start/2, stop/1, reload/3, depends/2, mod_opt_type/1, mod_options/1, mod_doc/0]).
%% hooks and the IQ handler
-export([user_send_packet/1, c2s_self_presence/1, c2s_terminated/2, sm_receive_packet/1,
         process_online_iq/1, decode_iq_subel/1]).

-include("logger.hrl").
-include("xmpp.hrl").

-define(NS_TLIM, <<"im.itonglian.com">>).
-define(NS_ROUTE, <<"urn:tlim:route:0">>).

%% Before mod_carboncopy (89) and mod_mam (user_send_packet 88, sm_receive_packet 50): an
%% intercepted message is neither carbon-copied nor archived as sent to its original `to`, and a
%% delivery is archived and copied with its final `from`.
-define(SEND_PRIO, 10).
-define(RECEIVE_PRIO, 20).
%% After mod_stream_mgmt (50), which stops the chain for the former process of a resumed session,
%% before ejabberd_c2s:process_terminated (100), which removes the session.
-define(TERMINATED_PRIO, 90).
-define(PRESENCE_PRIO, 50).

%%%===================================================================
%%% gen_mod
%%%===================================================================

start(Host, _Opts) ->
    ejabberd_hooks:add(user_send_packet, Host, ?MODULE, user_send_packet, ?SEND_PRIO),
    ejabberd_hooks:add(c2s_self_presence, Host, ?MODULE, c2s_self_presence, ?PRESENCE_PRIO),
    ejabberd_hooks:add(c2s_terminated, Host, ?MODULE, c2s_terminated, ?TERMINATED_PRIO),
    ejabberd_hooks:add(sm_receive_packet, Host, ?MODULE, sm_receive_packet, ?RECEIVE_PRIO),
    gen_iq_handler:add_iq_handler(ejabberd_local, Host, ?NS_ROUTE, ?MODULE, process_online_iq),
    ?INFO_MSG("tlim: handing tlim envelopes of ~ts to ~ts", [Host, component(Host)]),
    ok.

stop(Host) ->
    gen_iq_handler:remove_iq_handler(ejabberd_local, Host, ?NS_ROUTE),
    ejabberd_hooks:delete(sm_receive_packet, Host, ?MODULE, sm_receive_packet, ?RECEIVE_PRIO),
    ejabberd_hooks:delete(c2s_terminated, Host, ?MODULE, c2s_terminated, ?TERMINATED_PRIO),
    ejabberd_hooks:delete(c2s_self_presence, Host, ?MODULE, c2s_self_presence, ?PRESENCE_PRIO),
    ejabberd_hooks:delete(user_send_packet, Host, ?MODULE, user_send_packet, ?SEND_PRIO),
    ok.

%% The option is read at each use: nothing to redo.
reload(_Host, _NewOpts, _OldOpts) ->
    ok.

depends(_Host, _Opts) ->
    [].

mod_opt_type(component) ->
    econf:domain().

mod_options(Host) ->
    [{component, <<"tlim.", Host/binary>>}].

mod_doc() ->
    #{desc =>
          [<<"Lets the clients written for the original tlim Openfire plugin use the tlim "
             "external component (XEP-0114) unchanged: hands their envelope-bearing chat "
             "messages to the component, reports local users' availability to it, answers its "
             "<online xmlns='urn:tlim:route:0'/> query, and delivers its messages from the "
             "address it names in <address xmlns='urn:tlim:route:0'/>.">>],
      opts =>
          [{component,
            #{value => <<"Domain">>,
              desc => <<"The tlim component's domain. The default is 'tlim.' followed by the "
                        "host.">>}}],
      example =>
          ["modules:",
           "  mod_tlim:",
           "    component: tlim.example.com"]}.

%%%===================================================================
%%% 1. Interception
%%%===================================================================

-spec user_send_packet({stanza() | drop, ejabberd_c2s:state()}) ->
          {stanza() | drop, ejabberd_c2s:state()} | {stop, {drop, ejabberd_c2s:state()}}.
user_send_packet({#message{type = chat, to = #jid{} = To} = Msg,
                  #{jid := JID, lserver := LServer} = State} = Acc) ->
    Component = component(LServer),
    case To#jid.lserver of
        Component ->
            Acc; % already addressed to tlim
        _ ->
            case carries_envelope(Msg) of
                false ->
                    Acc;
                true ->
                    Els = [El || El <- xmpp:get_els(Msg), not is_el(El, <<"intercepted">>, ?NS_ROUTE)],
                    Intercepted = #xmlel{name = <<"intercepted">>,
                                         attrs = [{<<"xmlns">>, ?NS_ROUTE},
                                                  {<<"to">>, jid:encode(To)}]},
                    Copy = xmpp:set_from_to(xmpp:set_els(Msg, Els ++ [Intercepted]),
                                            JID, jid:make(Component)),
                    ?DEBUG("tlim: handing ~ts's message for ~ts to ~ts",
                           [jid:encode(JID), jid:encode(To), Component]),
                    ejabberd_router:route(Copy),
                    %% Handled: the original is not routed to its `to`.
                    {stop, {drop, State}}
            end
    end;
user_send_packet(Acc) ->
    Acc.

-spec carries_envelope(message()) -> boolean().
carries_envelope(#message{body = Body} = Msg) ->
    lists:any(fun(El) -> is_el(El, <<"tlim">>, ?NS_TLIM) end, xmpp:get_els(Msg))
        orelse envelope_body(Body).

%% The first <body>: a JSON object whose msg_type starts with MTT-, MTS-, MTB- or MTC-.
-spec envelope_body([text()]) -> boolean().
envelope_body([#text{data = Data} | _]) ->
    case re:run(Data, <<"^\\s*{">>, [{capture, none}]) of
        match ->
            try jiffy:decode(Data, [return_maps]) of
                #{<<"msg_type">> := <<"MT", C, "-", _/binary>>}
                  when C == $T; C == $S; C == $B; C == $C ->
                    true;
                _ ->
                    false
            catch _:_ ->
                    false
            end;
        nomatch ->
            false
    end;
envelope_body(_) ->
    false.

%%%===================================================================
%%% 2. Presence
%%%===================================================================

-spec report(jid(), available | unavailable, binary()) -> ok.
report(JID, Type, LServer) ->
    ejabberd_router:route(
      #presence{from = JID, to = jid:make(component(LServer)), type = Type,
                sub_els = [#xmlel{name = <<"reported">>, attrs = [{<<"xmlns">>, ?NS_ROUTE}]}]}).

%% Initial presence: the session had none before (`pres_last` is set after this hook runs).
%% An explicit unavailable presence of a session that was available is reported too: the session
%% stays connected but is no longer available.
-spec c2s_self_presence({presence(), ejabberd_c2s:state()}) -> {presence(), ejabberd_c2s:state()}.
c2s_self_presence({#presence{type = available},
                   #{jid := JID, lserver := LServer} = State} = Acc) ->
    case maps:is_key(pres_last, State) of
        false -> report(JID, available, LServer);
        true -> ok
    end,
    Acc;
c2s_self_presence({#presence{type = unavailable},
                   #{jid := JID, lserver := LServer} = State} = Acc) ->
    case maps:is_key(pres_last, State) of
        true -> report(JID, unavailable, LServer);
        false -> ok
    end,
    Acc;
c2s_self_presence(Acc) ->
    Acc.

%% The session ends. Only sessions that were available were reported. Not called for a session
%% waiting for resumption (XEP-0198) until it times out, nor for the former process of a resumed
%% session (mod_stream_mgmt stops the chain). A session replaced by a newer one on the same
%% resource is not reported: the resource now belongs to the newer session.
-spec c2s_terminated(ejabberd_c2s:state(), term()) -> ejabberd_c2s:state().
c2s_terminated(#{jid := JID, sid := SID, lserver := LServer, pres_last := _} = State, _Reason) ->
    #jid{luser = U, lserver = S, lresource = R} = JID,
    case ejabberd_sm:get_session_sid(U, S, R) of
        Newer when Newer /= none, Newer /= SID -> ok;
        _ -> report(JID, unavailable, LServer)
    end,
    State;
c2s_terminated(State, _Reason) ->
    State.

%% "Who is online?" from the component, after it (re)connects: every available resource of this
%% host, so the component syncs those devices without waiting for their next presence.

%% The payload is not one the xmpp codec knows: handed over as it is.
decode_iq_subel(El) ->
    El.

-spec process_online_iq(iq()) -> iq().
process_online_iq(#iq{type = get, from = #jid{lserver = FromServer},
                      to = #jid{lserver = LServer}, lang = Lang} = IQ) ->
    case FromServer == component(LServer) of
        false ->
            xmpp:make_error(IQ, xmpp:err_forbidden(<<"only the tlim component may ask">>, Lang));
        true ->
            xmpp:make_iq_result(IQ, #xmlel{name = <<"online">>,
                                           attrs = [{<<"xmlns">>, ?NS_ROUTE}],
                                           children = online_items(LServer)})
    end;
process_online_iq(#iq{lang = Lang} = IQ) ->
    xmpp:make_error(IQ, xmpp:err_service_unavailable(<<"only type='get' is served">>, Lang)).

-spec online_items(binary()) -> [xmlel()].
online_items(LServer) ->
    Users = lists:usort([{U, S} || {U, S, _} <- ejabberd_sm:get_vh_session_list(LServer)]),
    %% get_user_present_resources: the sessions with a priority, i.e. that sent available presence.
    [#xmlel{name = <<"item">>, attrs = [{<<"jid">>, jid:encode(jid:make(U, S, R))}]}
     || {U, S} <- Users, {_Prio, R} <- ejabberd_sm:get_user_present_resources(U, S)].

%%%===================================================================
%%% 3. Addressing of deliveries
%%%===================================================================

-spec sm_receive_packet(stanza() | drop) -> stanza() | drop.
sm_receive_packet(#message{from = #jid{lserver = FromServer},
                           to = #jid{lserver = LServer}} = Msg) ->
    case FromServer == component(LServer) of
        false ->
            Msg;
        true ->
            Els = xmpp:get_els(Msg),
            case [El || El <- Els, is_el(El, <<"address">>, ?NS_ROUTE)] of
                [] ->
                    Msg;
                [Address | _] ->
                    Msg1 = xmpp:set_els(Msg, [El || El <- Els, not is_el(El, <<"address">>, ?NS_ROUTE)]),
                    %% Only a JID of this very host, as the original plugin delivered (never a
                    %% foreign domain).
                    case address_from(Address, LServer) of
                        #jid{} = As -> xmpp:set_from(Msg1, As);
                        error -> Msg1
                    end
            end
    end;
sm_receive_packet(Acc) ->
    Acc.

-spec address_from(xmlel(), binary()) -> jid() | error.
address_from(#xmlel{} = Address, LServer) ->
    try jid:decode(fxml:get_tag_attr_s(<<"from">>, Address)) of
        #jid{lserver = LServer} = As -> As;
        _ -> error
    catch _:_ ->
            error
    end;
address_from(_, _) ->
    error.

%%%===================================================================
%%% Helpers
%%%===================================================================

-spec component(binary()) -> binary().
component(Host) ->
    gen_mod:get_module_opt(Host, ?MODULE, component).

%% Children the codec did not decode stay #xmlel{}; a decoded one is a record of another name.
-spec is_el(xmpp_element() | xmlel(), binary(), binary()) -> boolean().
is_el(#xmlel{name = Name} = El, Name, NS) ->
    fxml:get_tag_attr_s(<<"xmlns">>, El) == NS;
is_el(_, _, _) ->
    false.
